/* The /ask page: send a question, show the interpretation (its parts as chips that change
   the answer), a chart, the table and the SQL; follow-ups in a thread; save an answer as a
   dashboard tile; keep a history of recent questions in this browser. No inline scripts
   (the page's CSP). */
"use strict";
(function () {
  var root = document.getElementById("ask");
  if (!root) {
    return;
  }
  var labels = JSON.parse(root.dataset.labels);
  var options = JSON.parse(root.dataset.options);
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
    thread.forEach(function (entry) {
      var item = document.createElement("li");
      item.textContent = entry.text;
      if (entry.edit) {
        item.className = "edit";
      }
      list.appendChild(item);
    });
    show("thread-card", thread.length > 0);
  }

  function followed(question, answer, change) {
    conversation = answer.conversation || null;
    if (change) {
      thread.push({ text: label("edited", { what: change }), edit: true });
    } else {
      if (!answer.follow_up) {
        thread = [];
      }
      thread.push({ text: question, edit: false });
    }
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

  // --- The interpretation as chips: change one and the answer is computed again ---------

  function optionLabel(kind, key) {
    var found = options[kind].filter(function (option) { return option.key === key; })[0];
    return found ? found.label : key;
  }

  function select(kind, current, choices, extra) {
    var box = document.createElement("select");
    box.dataset.edit = kind;
    box.setAttribute("aria-label", label("chip_" + kind));
    (extra || []).concat(choices).forEach(function (choice) {
      var option = document.createElement("option");
      option.value = choice.key;
      option.textContent = choice.label;
      if (choice.key === current) {
        option.selected = true;
      }
      if (choice.disabled) {
        option.disabled = true;
      }
      box.appendChild(option);
    });
    return box;
  }

  function chip(kind, control) {
    var box = document.createElement("label");
    box.className = "chip-edit";
    box.dataset.chip = kind;
    box.appendChild(document.createTextNode(label("chip_" + kind)));
    box.appendChild(control);
    return box;
  }

  function drawChips(chips) {
    var box = document.getElementById("chips");
    box.replaceChildren();
    show("chip-problem", false);
    if (!chips || !conversation) {
      show("chips-block", false);
      return;
    }
    box.appendChild(chip("measure", select("measure", chips.measures[0], options.measure)));
    box.appendChild(chip("breakdown", select("breakdown", chips.breakdown || "none", options.breakdown,
      [{ key: "none", label: label("chip_no_breakdown") }])));
    if (chips.money) {
      box.appendChild(chip("unit", select("unit", chips.unit, options.unit)));
    }
    if (!chips.rejections) {
      var current = chips.period || "";
      var asked = chips.period ? [] : [{
        key: "", label: chips.period_label || label("chip_all_time"), disabled: true
      }];
      box.appendChild(chip("period", select("period", current, options.period, asked)));
    }
    if (chips.period_label) {
      var compare = document.createElement("input");
      compare.type = "checkbox";
      compare.dataset.edit = "compare";
      compare.checked = chips.compare;
      box.appendChild(chip("compare", compare));
    }
    chips.filters.forEach(function (text, index) {
      var item = document.createElement("span");
      item.className = "chip-edit filter";
      item.dataset.chip = "filter";
      item.appendChild(document.createTextNode(text));
      var remove = document.createElement("button");
      remove.type = "button";
      remove.dataset.removeFilter = String(index);
      remove.setAttribute("aria-label", label("chip_remove_filter", { filter: text }));
      remove.title = label("chip_remove_filter", { filter: text });
      remove.textContent = "×";
      item.appendChild(remove);
      box.appendChild(item);
    });
    show("chips-block", true);
  }

  // What an edit changed, for the thread ("指标 → 佣金").
  function describe(edit) {
    var kind = Object.keys(edit)[0];
    var value = edit[kind];
    if (kind === "remove_filter") {
      return label("chip_filters") + " −";
    }
    if (kind === "compare") {
      return label("chip_compare") + (value ? " ✓" : " ✗");
    }
    var shown = value === "none" ? label("chip_no_breakdown") : optionLabel(kind, value);
    return label("chip_" + kind) + " → " + shown;
  }

  function change(edit) {
    if (!conversation) {
      return;
    }
    var lastChips = currentChips;
    send({ conversation: conversation, edit: edit }, function (status, body) {
      if (status === 200) {
        followed(null, body, describe(edit));
        showAnswer(body);
        return true;
      }
      if (status === 422) {
        // Not a plan the engine can answer: say why, and put the chips back as they were.
        drawChips(lastChips);
        var errors = body.errors || [];
        setText("chip-problem", errors.map(function (e) { return e.message; }).join(" "));
        show("chip-problem", true);
        return true;
      }
      return false;
    });
  }

  document.getElementById("chips").addEventListener("change", function (event) {
    var control = event.target;
    var kind = control.dataset.edit;
    if (!kind) {
      return;
    }
    var edit = {};
    edit[kind] = kind === "compare" ? control.checked : control.value;
    change(edit);
  });

  document.getElementById("chips").addEventListener("click", function (event) {
    var remove = event.target.closest("[data-remove-filter]");
    if (remove) {
      change({ remove_filter: Number(remove.dataset.removeFilter) });
    }
  });

  // --- Saving an answer as a dashboard tile -------------------------------------------

  var saveForm = document.getElementById("save-form");
  var saveTitle = document.getElementById("save-title");

  function resetSave(title) {
    saveTitle.value = title || "";
    show("save-result", false);
    saveForm.hidden = !conversation;
  }

  saveForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var result = document.getElementById("save-result");
    var title = saveTitle.value.trim();
    if (!conversation || !title) {
      return;
    }
    fetch("/api/saved-questions", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ conversation: conversation, title: title })
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          result.replaceChildren();
          if (response.status === 201) {
            result.appendChild(document.createTextNode(label("saved") + " "));
            var link = document.createElement("a");
            link.href = "/dashboard";
            link.textContent = label("open_dashboard");
            result.appendChild(link);
          } else {
            var errors = body.errors || [];
            result.textContent = errors.map(function (e) { return e.message; }).join(" ") ||
              label("error");
          }
          result.hidden = false;
        });
      })
      .catch(function (error) {
        result.textContent = String(error);
        result.hidden = false;
      });
  });

  var currentChips = null;

  function showAnswer(answer) {
    show("problem", false);
    setText("interpretation", answer.interpretation);
    currentChips = answer.chips || null;
    drawChips(currentChips);
    resetSave(answer.question);
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

  // POST a question or an edit; `handle(status, body)` takes what it understands (true).
  function send(payload, handle) {
    button.disabled = true;
    button.textContent = label("asking");
    return fetch("/ask/answer", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload)
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          return { status: response.status, body: body };
        });
      })
      .then(function (result) {
        if (handle(result.status, result.body)) {
          return;
        }
        if (result.status === 404) {
          // The conversation expired: the question again, on its own.
          var last = thread.filter(function (entry) { return !entry.edit; }).pop();
          newQuestion();
          showProblem(label("error"), label("conversation_expired"), last ? [last.text] : []);
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

  function ask(question) {
    question = question.trim();
    if (!question) {
      return;
    }
    input.value = question;
    remember(question);
    var payload = conversation ? { question: question, conversation: conversation } : { question: question };
    send(payload, function (status, body) {
      if (status !== 200) {
        return false;
      }
      followed(question, body, null);
      showAnswer(body);
      return true;
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
  // A question in the address (`/ask?question=…`: a link, or the form sent before this
  // script ran) is asked at once.
  var asked = new URLSearchParams(window.location.search).get("question");
  if (asked) {
    window.history.replaceState(null, "", window.location.pathname);
    ask(asked);
  }
  root.dataset.ready = "true";
})();
