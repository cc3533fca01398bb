/* The /ask page: send a question, show the interpretation, a chart, the table and the SQL,
   keep a history of recent questions in this browser. No inline scripts (the page's CSP). */
"use strict";
(function () {
  var root = document.getElementById("ask");
  if (!root) {
    return;
  }
  var labels = JSON.parse(root.dataset.labels);
  var historyKey = root.dataset.historyKey;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var form = document.getElementById("ask-form");
  var input = document.getElementById("question");
  var button = document.getElementById("ask-button");
  var chart = null;
  var HISTORY_SIZE = 20;

  function label(key, values) {
    var text = labels[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.replace("{" + name + "}", values[name]);
    });
    return text;
  }

  function show(id, visible) {
    document.getElementById(id).hidden = !visible;
  }

  function setText(id, text) {
    document.getElementById(id).textContent = text;
  }

  // --- History (this browser only) ---------------------------------------------------

  function readHistory() {
    try {
      var items = JSON.parse(window.localStorage.getItem(historyKey) || "[]");
      return Array.isArray(items) ? items.filter(function (q) { return typeof q === "string"; }) : [];
    } catch (error) {
      return [];
    }
  }

  function remember(question) {
    var items = readHistory().filter(function (q) { return q !== question; });
    items.unshift(question);
    try {
      window.localStorage.setItem(historyKey, JSON.stringify(items.slice(0, HISTORY_SIZE)));
    } catch (error) {
      /* private mode or full storage: the history is only a convenience */
    }
    drawHistory();
  }

  function drawHistory() {
    var list = document.getElementById("history");
    list.replaceChildren();
    var items = readHistory();
    if (!items.length) {
      var empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = label("no_history");
      list.appendChild(empty);
      return;
    }
    items.forEach(function (question) {
      var item = document.createElement("li");
      var link = document.createElement("button");
      link.type = "button";
      link.className = "link";
      link.dataset.question = question;
      link.textContent = question;
      item.appendChild(link);
      list.appendChild(item);
    });
  }

  // --- Showing an answer ---------------------------------------------------------------

  // Numbers and money (decimal strings) line up on the right; ids made of digits stay text.
  function isNumeric(value) {
    return typeof value === "number" || (typeof value === "string" && /^-?\d+\.\d+$/.test(value));
  }

  function cellText(value) {
    if (value === null || value === undefined) {
      return "";
    }
    if (typeof value === "object") {
      return JSON.stringify(value);
    }
    return String(value);
  }

  // A column's header in the question's language, with its unit ("销售额（MYR）", "%").
  function headerOf(answer, index) {
    var header = (answer.headers && answer.headers[index]) || answer.columns[index];
    var unit = answer.units && answer.units[index];
    if (unit && header.indexOf(unit) < 0) {
      header += answer.language === "zh" ? "（" + unit + "）" : " (" + unit + ")";
    }
    return header;
  }

  function drawTable(columns, rows, headers) {
    var table = document.getElementById("result");
    var head = table.tHead;
    var body = table.tBodies[0];
    head.replaceChildren();
    body.replaceChildren();
    var headRow = document.createElement("tr");
    var numeric = columns.map(function (_, index) {
      return rows.length > 0 && rows.every(function (row) {
        return row[index] === null || isNumeric(row[index]);
      });
    });
    columns.forEach(function (column, index) {
      var cell = document.createElement("th");
      cell.textContent = headers ? headers[index] : column;
      cell.dataset.column = column;
      if (numeric[index]) {
        cell.className = "num";
      }
      headRow.appendChild(cell);
    });
    head.appendChild(headRow);
    rows.forEach(function (row) {
      var line = document.createElement("tr");
      row.forEach(function (value, index) {
        var cell = document.createElement("td");
        cell.textContent = cellText(value);
        if (numeric[index]) {
          cell.className = "num";
        }
        line.appendChild(cell);
      });
      body.appendChild(line);
    });
    if (!rows.length) {
      var none = document.createElement("tr");
      var cell = document.createElement("td");
      cell.colSpan = Math.max(columns.length, 1);
      cell.className = "empty";
      cell.textContent = label("no_rows");
      none.appendChild(cell);
      body.appendChild(none);
    }
    setText("row-count", label(rows.length === 1 ? "rows_one" : "rows", { count: rows.length }));
  }

  function disposeChart() {
    if (chart) {
      chart.dispose();
      chart = null;
    }
  }

  function drawChart(suggestion, columns, rows, headers) {
    disposeChart();
    var box = document.getElementById("chart");
    var number = document.getElementById("number");
    var type = suggestion && suggestion.type;
    show("chart-card", false);
    number.hidden = true;
    box.hidden = true;
    if (!type || type === "table" || !rows.length) {
      return;
    }
    setText("chart-title", suggestion.title || "");
    show("chart-card", true);
    var ys = (suggestion.y || []).filter(function (name) { return columns.indexOf(name) >= 0; });
    if (type === "number") {
      var column = ys.length ? columns.indexOf(ys[0]) : columns.length - 1;
      number.textContent = cellText(rows[0][column]);
      number.hidden = false;
      return;
    }
    var xIndex = columns.indexOf(suggestion.x);
    var nameOf = function (name) {
      var index = columns.indexOf(name);
      return headers && index >= 0 ? headers[index] : name;
    };
    if ((xIndex < 0 && type !== "bar") || !ys.length || typeof window.echarts === "undefined") {
      show("chart-card", false);
      return;
    }
    box.hidden = false;
    var categories = rows.map(function (row) { return cellText(row[xIndex]); });
    var option;
    if (xIndex < 0) {
      // No breakdown (a comparison of two periods): the columns of the one row side by side.
      option = {
        tooltip: { trigger: "axis" },
        grid: { left: 60, right: 20, top: 15, bottom: 60 },
        xAxis: { type: "category", data: ys.map(nameOf) },
        yAxis: { type: "value" },
        series: [{
          type: "bar",
          data: ys.map(function (name) {
            var value = rows[0][columns.indexOf(name)];
            return value === null ? null : Number(value);
          })
        }]
      };
    } else if (type === "pie") {
      var yIndex = columns.indexOf(ys[0]);
      option = {
        tooltip: { trigger: "item" },
        legend: { type: "scroll", bottom: 0 },
        series: [{
          type: "pie",
          radius: ["35%", "65%"],
          data: rows.map(function (row) {
            return { name: cellText(row[xIndex]), value: Number(row[yIndex]) };
          })
        }]
      };
    } else {
      option = {
        tooltip: { trigger: "axis" },
        legend: { show: ys.length > 1, top: 0 },
        grid: { left: 60, right: 20, top: ys.length > 1 ? 30 : 15, bottom: 60 },
        xAxis: { type: "category", data: categories, axisLabel: { rotate: categories.length > 8 ? 30 : 0 } },
        yAxis: { type: "value" },
        series: ys.map(function (name) {
          var index = columns.indexOf(name);
          return {
            name: nameOf(name),
            type: type === "line" ? "line" : "bar",
            showSymbol: rows.length <= 40,
            data: rows.map(function (row) { return row[index] === null ? null : Number(row[index]); })
          };
        })
      };
    }
    chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption(option);
  }

  // --- The conversation: follow-ups read against the previous question ---------------
  var conversation = null;
  var thread = [];

  function drawThread() {
    var list = document.getElementById("thread");
    list.replaceChildren();
    thread.forEach(function (question) {
      var item = document.createElement("li");
      item.textContent = question;
      list.appendChild(item);
    });
    show("thread-card", thread.length > 0);
  }

  function followed(question, answer) {
    conversation = answer.conversation || null;
    if (!answer.follow_up) {
      thread = [];
    }
    thread.push(question);
    drawThread();
  }

  function newQuestion() {
    conversation = null;
    thread = [];
    drawThread();
    input.value = "";
    input.focus();
  }

  function drawChoices(choices) {
    var box = document.getElementById("choices");
    box.replaceChildren();
    (choices || []).forEach(function (choice) {
      var chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip choice";
      chip.dataset.question = choice.question;
      chip.textContent = choice.label;
      box.appendChild(chip);
    });
    show("choices-block", Boolean(choices && choices.length));
  }

  function showAnswer(answer) {
    show("problem", false);
    setText("interpretation", answer.interpretation);
    var source = answer.source === "llm" ? label("source_llm") : label("source_engine");
    setText("meta", source + " · " + label("elapsed", { ms: Math.round(answer.elapsed_ms) }));
    setText("sql", answer.sql);
    drawChoices(answer.choices);
    var headers = answer.columns.map(function (_, index) { return headerOf(answer, index); });
    drawTable(answer.columns, answer.rows, headers);
    show("answer", true);
    drawChart(answer.chart, answer.columns, answer.rows, headers);
  }

  function showProblem(title, message, suggestions) {
    disposeChart();
    show("answer", false);
    setText("problem-title", title);
    setText("problem-message", message);
    var box = document.getElementById("suggestions");
    box.replaceChildren();
    // A choice between readings ({label, question}) or an example question (text).
    (suggestions || []).forEach(function (item) {
      var chip = document.createElement("button");
      chip.type = "button";
      chip.className = typeof item === "string" ? "chip" : "chip choice";
      chip.dataset.question = typeof item === "string" ? item : item.question;
      chip.textContent = typeof item === "string" ? item : item.label;
      box.appendChild(chip);
    });
    show("suggestions-block", Boolean(suggestions && suggestions.length));
    show("problem", true);
  }

  // --- Asking ----------------------------------------------------------------------------

  function ask(question) {
    question = question.trim();
    if (!question) {
      return;
    }
    input.value = question;
    button.disabled = true;
    button.textContent = label("asking");
    remember(question);
    fetch("/ask/answer", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(conversation ? { question: question, conversation: conversation } : { question: question })
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          return { status: response.status, body: body };
        });
      })
      .then(function (result) {
        if (result.status === 200) {
          followed(question, result.body);
          showAnswer(result.body);
        } else if (result.status === 404) {
          // The conversation expired: the question again, on its own.
          newQuestion();
          showProblem(label("error"), label("conversation_expired"), [question]);
        } else if (result.status === 401 || result.status === 403) {
          showProblem(label("error"), label("session_expired"), []);
          window.setTimeout(function () { window.location.assign("/ask"); }, 1500);
        } else {
          var errors = result.body.errors || [];
          var message = errors.map(function (e) { return e.message; }).join(" ");
          var title = result.status === 422 ? label("cannot_answer") : label("error");
          var choices = result.body.choices || [];
          showProblem(
            title,
            message || String(result.status),
            choices.length ? choices : result.body.suggestions || []
          );
        }
      })
      .catch(function (error) {
        showProblem(label("error"), String(error), []);
      })
      .finally(function () {
        button.disabled = false;
        button.textContent = label("ask");
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ask(input.value);
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-question]");
    if (target) {
      ask(target.dataset.question);
    }
  });

  document.getElementById("new-question").addEventListener("click", newQuestion);

  document.getElementById("clear-history").addEventListener("click", function () {
    try {
      window.localStorage.removeItem(historyKey);
    } catch (error) {
      /* nothing kept */
    }
    drawHistory();
  });

  window.addEventListener("resize", function () {
    if (chart) {
      chart.resize();
    }
  });

  drawHistory();
})();
