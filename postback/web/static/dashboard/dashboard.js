// The dashboard: reads the filters, fetches the JSON endpoints, draws KPI cards, ECharts
// charts and tables, keeps the download links in step, and follows the live feed (SSE).
// The signed-in asker's saved questions are tiles, each answered now (POST
// /api/saved-questions/{id}/answer) and drawn as its answer's `chart` says; staff can send
// one as a scheduled report to an alert channel.
(function () {
  "use strict";
  var body = document.body;
  var L = JSON.parse(body.dataset.labels || "{}");
  var isAdmin = body.dataset.admin === "true";
  var form = document.getElementById("filters");
  var charts = {};
  var loads = 0;
  var feed = null;
  var feedTenant = null;

  function t(key) { return L[key] || key; }

  // Feed times in the reporting timezone, as "2026-11-25 14:30:56".
  var LOCAL_TIME = new Intl.DateTimeFormat("sv-SE", {
    timeZone: body.dataset.zone || "UTC", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
  });

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Exact decimal text with thousands separators; no floating point on the way.
  function grouped(text) {
    if (text === null || text === undefined) return "";
    var s = String(text), sign = "";
    if (s.charAt(0) === "-") { sign = "-"; s = s.slice(1); }
    var parts = s.split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var fraction = parts.length > 1 ? parts[1].replace(/0+$/, "") : "";
    if (fraction.length < 2 && parts.length > 1) fraction = (fraction + "00").slice(0, 2);
    return sign + whole + (fraction ? "." + fraction : "");
  }

  function statusLabel(s) { return L[s] || s; }

  function params() {
    var data = new FormData(form);
    var q = new URLSearchParams();
    var range = data.get("range") || "today";
    q.set("range", range);
    if (range === "custom") {
      if (data.get("since")) q.set("since", data.get("since"));
      if (data.get("until")) q.set("until", data.get("until"));
    }
    var tenant = data.get("tenant");
    if (tenant) q.set("tenant", tenant);
    return q;
  }

  function fromUrl() {
    var q = new URLSearchParams(window.location.search);
    var range = q.get("range");
    if (range) {
      var radio = form.querySelector("input[name=range][value='" + CSS.escape(range) + "']");
      if (radio) radio.checked = true;
    }
    if (q.get("since")) form.elements.since.value = q.get("since");
    if (q.get("until")) form.elements.until.value = q.get("until");
    if (q.get("tenant") && form.elements.tenant) form.elements.tenant.value = q.get("tenant");
  }

  function showCustom() {
    var custom = params().get("range") === "custom";
    document.getElementById("custom-dates").hidden = !custom;
  }

  function getJson(path, q) {
    return fetch(path + "?" + q.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (json) {
          if (!response.ok) {
            var e = (json.errors || [{ field: "", message: response.statusText }])[0];
            throw new Error(e.field + ": " + e.message);
          }
          return json;
        });
      });
  }

  function kpiCards(data) {
    var box = document.getElementById("kpis");
    box.textContent = "";
    data.kpis.forEach(function (k) {
      var card = el("article", { "class": "kpi", "data-kpi": k.key });
      card.appendChild(el("h3", {}, t(k.key)));
      var shown = k.kind === "percent" ? k.value + "%" : grouped(k.value);
      card.appendChild(el("p", { "class": "value", "data-value": k.value }, shown));
      var change = el("p", { "class": "change" });
      if (k.change === null) {
        change.textContent = "— " + t("vs_previous");
      } else {
        var n = k.change;
        var up = n.charAt(0) !== "-" && n !== "0.0";
        change.className = "change " + (n === "0.0" ? "flat" : up ? "up" : "down");
        change.textContent = (up ? "▲ +" : n === "0.0" ? "" : "▼ ") + n + (k.kind === "percent" ? " pt " : "% ") + t("vs_previous");
      }
      change.setAttribute("data-change", k.change === null ? "" : k.change);
      change.title = t("previous") + ": " + (k.kind === "percent" ? k.previous + "%" : grouped(k.previous));
      card.appendChild(change);
      box.appendChild(card);
    });
    var r = data.range;
    document.getElementById("range-text").textContent = r.first_day === r.last_day ? r.first_day : r.first_day + " – " + r.last_day;
  }

  function chart(id) {
    if (!charts[id]) charts[id] = window.echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    return charts[id];
  }

  var TOOLTIP = { trigger: "axis", renderMode: "richText" };

  // The forecast of one partner (GET /api/forecast): shown beside daily actuals only.
  function forecastOf(q) {
    var f = new URLSearchParams();
    if (q.get("tenant")) f.set("tenant", q.get("tenant"));
    if (isAdmin && !q.get("tenant")) return Promise.resolve(null);
    return getJson("/api/forecast", f).then(function (page) {
      return page.items.length === 1 ? page.items[0] : null;
    }, function () { return null; });
  }

  function seriesChart(data, forecast) {
    var hourly = data.range.grain === "hour";
    var labels = data.points.map(function (p) {
      var s = p.bucket.replace("T", " ");
      return hourly ? s.slice(5, 16) : s.slice(0, 10);
    });
    var conversions = data.points.map(function (p) { return p.conversions; });
    var payouts = data.points.map(function (p) { return p.payouts_usd; });
    var note = document.getElementById("forecast-note");
    var holder = document.getElementById("chart-series");
    var days = forecast && !hourly ? forecast.days : [];
    var extra = [];
    if (days.length) {
      var index = {};
      labels.forEach(function (l, i) { index[l] = i; });
      days.forEach(function (d) {
        if (index[d.day] === undefined) { index[d.day] = labels.length; labels.push(d.day); }
      });
      var empty = function () { return labels.map(function () { return null; }); };
      var fc = empty(), fcLow = empty(), fcBand = empty(), fp = empty(), fpLow = empty(), fpBand = empty();
      days.forEach(function (d) {
        var i = index[d.day];
        fc[i] = d.conversions; fcLow[i] = d.conversions_lower; fcBand[i] = d.conversions_upper - d.conversions_lower;
        fp[i] = d.payouts_usd; fpLow[i] = d.payouts_usd_lower; fpBand[i] = d.payouts_usd_upper - d.payouts_usd_lower;
      });
      var band = function (stack, axis, low, width, color) {
        return [
          { name: t("forecast_band"), type: "line", stack: stack, yAxisIndex: axis, data: low, symbol: "none", lineStyle: { opacity: 0 }, silent: true },
          { name: t("forecast_band"), type: "line", stack: stack, yAxisIndex: axis, data: width, symbol: "none", lineStyle: { opacity: 0 }, areaStyle: { color: color, opacity: 0.18 }, silent: true }
        ];
      };
      extra = band("band-c", 0, fcLow, fcBand, "#5470c6")
        .concat(band("band-p", 1, fpLow, fpBand, "#91cc75"))
        .concat([
          { name: t("forecast_conversions"), type: "line", data: fc, lineStyle: { type: "dashed", color: "#5470c6" }, itemStyle: { color: "#5470c6" } },
          { name: t("forecast_payouts"), type: "line", yAxisIndex: 1, data: fp, lineStyle: { type: "dashed", color: "#3ba272" }, itemStyle: { color: "#3ba272" } }
        ]);
      while (conversions.length < labels.length) { conversions.push(null); payouts.push(null); }
      note.textContent = t("forecast_note").replace("{days}", days.length)
        .replace("{history}", forecast.history_days).replace("{model}", forecast.model);
      note.hidden = false;
    } else if (forecast && !hourly) {
      note.textContent = t("forecast_none");
      note.hidden = false;
    } else {
      note.hidden = true;
    }
    holder.dataset.forecastDays = String(days.length);
    var legend = [t("conversions"), t("payouts_usd")];
    if (days.length) legend = legend.concat([t("forecast_conversions"), t("forecast_payouts"), t("forecast_band")]);
    chart("chart-series").setOption({
      animation: false,
      tooltip: TOOLTIP,
      legend: { data: legend, top: 0 },
      grid: { left: 48, right: 56, top: days.length ? 56 : 32, bottom: 40 },
      xAxis: { type: "category", data: labels },
      yAxis: [{ type: "value", name: t("conversions"), minInterval: 1 }, { type: "value", name: "USD" }],
      series: [
        { name: t("conversions"), type: "bar", data: conversions },
        { name: t("payouts_usd"), type: "line", yAxisIndex: 1, smooth: true, data: payouts }
      ].concat(extra)
    }, true);
  }

  function pie(id, rows, nameOf) {
    chart(id).setOption({
      animation: false,
      tooltip: { trigger: "item", renderMode: "richText" },
      legend: { bottom: 0, type: "scroll" },
      series: [{ type: "pie", radius: ["35%", "65%"], top: 0, bottom: 28,
        data: rows.map(function (r) { return { name: nameOf(r), value: r.conversions }; }) }]
    }, true);
  }

  function offersChart(rows) {
    var top = rows.slice().reverse();
    chart("chart-offers").setOption({
      animation: false,
      tooltip: TOOLTIP,
      grid: { left: 8, right: 24, top: 8, bottom: 24, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: top.map(function (r) { return r.offer_name || r.offer_id || t("none"); }) },
      series: [{ name: t("conversions"), type: "bar", data: top.map(function (r) { return r.conversions; }) }]
    }, true);
  }

  function table(id, columns, rows) {
    var node = document.getElementById(id);
    node.textContent = "";
    var head = el("thead"), tr = el("tr");
    columns.forEach(function (c) { tr.appendChild(el("th", c.num ? { "class": "num" } : {}, t(c.label))); });
    head.appendChild(tr);
    node.appendChild(head);
    var tbody = el("tbody");
    if (!rows.length) {
      var empty = el("tr");
      empty.appendChild(el("td", { colspan: String(columns.length), "class": "empty" }, t("no_data")));
      tbody.appendChild(empty);
    }
    rows.forEach(function (r) {
      var line = el("tr");
      columns.forEach(function (c) {
        var raw = c.get ? c.get(r) : r[c.key];
        var shown = c.num && c.money ? grouped(raw) : raw === null || raw === undefined ? t("none") : raw;
        line.appendChild(el("td", c.num ? { "class": "num", "data-key": c.key } : { "data-key": c.key }, shown));
      });
      tbody.appendChild(line);
    });
    node.appendChild(tbody);
  }

  function money(key, label) { return { key: key, label: label || key, num: true, money: true }; }
  var COUNT = { key: "conversions", label: "conversions", num: true };

  function setExports(q) {
    document.querySelectorAll("a[data-export]").forEach(function (a) {
      a.href = "/dashboard/export/" + a.dataset.export + "." + a.dataset.format + "?" + q.toString();
      a.setAttribute("download", "");
    });
  }

  function load() {
    var q = params();
    var seq = ++loads;
    showCustom();
    if (q.get("range") === "custom" && !(q.get("since") && q.get("until"))) return;
    window.history.replaceState(null, "", "?" + q.toString());
    setExports(q);
    var status = document.getElementById("status-text");
    status.textContent = t("loading");
    body.dataset.state = "loading";
    var jobs = [
      getJson("/dashboard/api/kpis", q).then(kpiCards),
      Promise.all([getJson("/dashboard/api/series", q), forecastOf(q)]).then(function (both) {
        seriesChart(both[0], both[1]);
      }),
      getJson("/dashboard/api/status", q).then(function (d) {
        pie("chart-status", d.rows, function (r) { return statusLabel(r.status); });
        table("table-status", [{ key: "status", label: "status", get: function (r) { return statusLabel(r.status); } }, COUNT, money("sales_usd"), money("payouts_usd")], d.rows);
      }),
      getJson("/dashboard/api/currencies", q).then(function (d) {
        pie("chart-currencies", d.rows, function (r) { return r.currency || t("none"); });
        table("table-currencies", [{ key: "currency", label: "currency" }, COUNT, money("sales_local"), money("sales_usd"), money("payouts_usd")], d.rows);
      }),
      getJson("/dashboard/api/offers", q).then(function (d) {
        offersChart(d.rows);
        table("table-offers", [{ key: "offer_id", label: "offer_id" }, { key: "offer_name", label: "offer" }, COUNT, money("sales_usd"), money("payouts_usd"), money("payouts_myr")], d.rows);
      })
    ];
    if (isAdmin) {
      jobs.push(getJson("/dashboard/api/partners", q).then(function (d) {
        table("table-partners", [{ key: "slug", label: "slug" }, { key: "name", label: "name" }, COUNT, { key: "duplicates", label: "duplicates", num: true }, money("sales_usd"), money("sales_myr"), money("payouts_usd"), money("payouts_myr")], d.rows);
      }));
    }
    Promise.all(jobs).then(function () {
      if (seq !== loads) return;
      status.textContent = "";
      body.dataset.state = "ready";
      body.dataset.loaded = String(seq);
    }, function (error) {
      if (seq !== loads) return;
      status.textContent = t("load_failed").replace("{message}", error.message);
      body.dataset.state = "error";
    });
    follow(q.get("tenant") || "");
  }

  function feedRow(item) {
    var tr = el("tr", { "data-id": String(item.id) });
    var when = LOCAL_TIME.format(new Date(item.received_at));
    [when, item.tenant, item.conversion_id, item.offer_name || "", statusLabel(item.status),
     grouped(item.sales_usd), grouped(item.payouts_usd), item.duplicate ? t("yes") : t("no")]
      .forEach(function (v, i) { tr.appendChild(el("td", i >= 5 && i <= 6 ? { "class": "num" } : {}, v)); });
    return tr;
  }

  function follow(tenant) {
    if (feed && feedTenant === tenant) return;
    if (feed) feed.close();
    feedTenant = tenant;
    var tbody = document.querySelector("#feed tbody");
    tbody.textContent = "";
    var state = document.getElementById("feed-state");
    var q = new URLSearchParams();
    if (tenant) q.set("tenant", tenant);
    feed = new EventSource("/dashboard/api/feed?" + q.toString());
    feed.onopen = function () { state.textContent = t("live"); state.className = "badge live"; };
    feed.onerror = function () { state.textContent = t("offline"); state.className = "badge"; };
    feed.addEventListener("postback", function (event) {
      var item = JSON.parse(event.data);
      if (tbody.querySelector("tr[data-id='" + item.id + "']")) return;
      tbody.insertBefore(feedRow(item), tbody.firstChild);
      while (tbody.children.length > 50) tbody.removeChild(tbody.lastChild);
    });
  }


  // ---------------------------------------------------------------- saved questions

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var TILE_ROWS = 10;

  function send(method, path, payload) {
    var headers = { Accept: "application/json", "X-CSRF-Token": csrf };
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, {
      method: method, credentials: "same-origin", headers: headers,
      body: payload === undefined ? undefined : JSON.stringify(payload)
    }).then(function (response) {
      if (response.status === 204) return null;
      return response.json().then(function (json) {
        if (!response.ok) {
          var e = (json.errors || [{ field: "", message: response.statusText }])[0];
          throw new Error(e.message);
        }
        return json;
      });
    });
  }

  function fill(key, values) {
    var text = t(key);
    Object.keys(values).forEach(function (k) { text = text.replace("{" + k + "}", values[k]); });
    return text;
  }

  function headerOf(answer, column) {
    var i = answer.columns.indexOf(column);
    return i >= 0 && answer.headers[i] ? answer.headers[i] : column;
  }

  function numberOf(value) {
    var n = Number(value);
    return isNaN(n) ? null : n;
  }

  function tileTable(answer) {
    var node = el("table", { "class": "tile-table" });
    var head = el("tr");
    answer.columns.forEach(function (c, i) { head.appendChild(el("th", {}, answer.headers[i] || c)); });
    node.appendChild(el("thead")).appendChild(head);
    var tbody = el("tbody");
    answer.rows.slice(0, TILE_ROWS).forEach(function (row) {
      var line = el("tr");
      row.forEach(function (v, i) {
        var money = answer.units[i] && typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v);
        line.appendChild(el("td", money ? { "class": "num" } : {}, money ? grouped(v) : v === null ? t("none") : v));
      });
      tbody.appendChild(line);
    });
    node.appendChild(tbody);
    return node;
  }

  function drawAnswer(tile, answer) {
    var box = tile.querySelector(".tile-body");
    box.textContent = "";
    var spec = answer.chart;
    tile.dataset.chart = spec.type;
    if (!answer.rows.length) {
      box.appendChild(el("p", { "class": "note" }, t("no_data")));
      return;
    }
    if (spec.type === "number" || (answer.rows.length === 1 && answer.columns.length === 1)) {
      var column = spec.y[0] || answer.columns[0];
      var i = Math.max(0, answer.columns.indexOf(column));
      var value = answer.rows[0][i];
      var unit = answer.units[i];
      box.appendChild(el("p", { "class": "big-number", "data-value": value === null ? "" : String(value) },
        (answer.units[i] ? grouped(value) : value) + (unit && unit !== "%" ? " " + unit : unit === "%" ? "%" : "")));
      box.appendChild(el("p", { "class": "note" }, headerOf(answer, column)));
      return;
    }
    if (spec.type === "table" || !spec.y.length) {
      box.appendChild(tileTable(answer));
      return;
    }
    var holder = el("div", { "class": "tile-chart", id: "tile-chart-" + tile.dataset.id });
    box.appendChild(holder);
    var ys = spec.y.map(function (c) { return answer.columns.indexOf(c); }).filter(function (i) { return i >= 0; });
    var xi = spec.x ? answer.columns.indexOf(spec.x) : -1;
    var option;
    if (spec.type === "pie" && xi >= 0) {
      option = {
        tooltip: { trigger: "item", renderMode: "richText" },
        legend: { bottom: 0, type: "scroll" },
        series: [{ type: "pie", radius: ["30%", "60%"], bottom: 24, data: answer.rows.map(function (r) {
          return { name: r[xi] === null ? t("none") : String(r[xi]), value: numberOf(r[ys[0]]) };
        }) }]
      };
    } else if (xi < 0) {
      // No breakdown: the y columns of the one row side by side (a comparison's periods).
      option = {
        tooltip: TOOLTIP,
        grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
        xAxis: { type: "category", data: ys.map(function (i) { return answer.headers[i] || answer.columns[i]; }) },
        yAxis: { type: "value" },
        series: [{ type: "bar", data: ys.map(function (i) { return numberOf(answer.rows[0][i]); }) }]
      };
    } else {
      option = {
        tooltip: TOOLTIP,
        legend: ys.length > 1 ? { top: 0 } : undefined,
        grid: { left: 8, right: 16, top: ys.length > 1 ? 28 : 12, bottom: 8, containLabel: true },
        xAxis: { type: "category", data: answer.rows.map(function (r) { return r[xi] === null ? t("none") : String(r[xi]); }) },
        yAxis: { type: "value" },
        series: ys.map(function (i) {
          return { name: answer.headers[i] || answer.columns[i], type: spec.type === "line" ? "line" : "bar",
            data: answer.rows.map(function (r) { return numberOf(r[i]); }) };
        })
      };
    }
    option.animation = false;
    charts[holder.id] = window.echarts.init(holder, null, { renderer: "canvas" });
    charts[holder.id].setOption(option, true);
    if (answer.rows.length > TILE_ROWS && spec.type === "table") {
      box.appendChild(el("p", { "class": "note" }, fill("tile_more_rows", { shown: TILE_ROWS, total: answer.rows.length })));
    }
  }

  function answerTile(tile) {
    tile.dataset.state = "loading";
    return send("POST", "/api/saved-questions/" + tile.dataset.id + "/answer").then(function (answer) {
      tile.querySelector(".interpretation").textContent = answer.interpretation;
      drawAnswer(tile, answer);
      tile.dataset.state = "ready";
    }, function (error) {
      var box = tile.querySelector(".tile-body");
      box.textContent = "";
      box.appendChild(el("p", { "class": "alert error" }, fill("tile_failed", { message: error.message })));
      tile.dataset.state = "error";
    });
  }

  function reportText(report) {
    var cadence = report.cadence === "weekly" ? t("weekday_" + report.weekday) : t("daily");
    var next = LOCAL_TIME.format(new Date(report.next_run_at)).slice(0, 16);
    var text = fill("report_line", { cadence: cadence, hour: String(report.hour).padStart(2, "0"), channel: report.channel, next: next });
    if (!report.enabled) text += " (" + t("report_paused") + ")";
    if (report.last_error) text += " · " + fill("report_error", { error: report.last_error });
    return text;
  }

  function showReports(tile, reports) {
    var list = tile.querySelector(".reports");
    if (!list) return;
    list.textContent = "";
    reports.filter(function (r) { return String(r.saved_question_id) === tile.dataset.id; })
      .forEach(function (r) {
        var item = el("li", { "data-report": String(r.id), "data-enabled": String(r.enabled) });
        item.appendChild(el("span", {}, reportText(r)));
        var toggle = el("button", { type: "button", "class": "link toggle" }, t(r.enabled ? "report_pause" : "report_resume"));
        var stop = el("button", { type: "button", "class": "link stop" }, t("report_delete"));
        toggle.addEventListener("click", function () {
          send("PATCH", "/api/reports/" + r.id, { enabled: !r.enabled }).then(function () { refreshReports(tile); });
        });
        stop.addEventListener("click", function () {
          send("DELETE", "/api/reports/" + r.id).then(function () { refreshReports(tile); });
        });
        item.appendChild(toggle);
        item.appendChild(stop);
        list.appendChild(item);
      });
  }

  function refreshReports(tile) {
    return send("GET", "/api/reports").then(function (page) { showReports(tile, page.items); });
  }

  function option(value, label) {
    var node = el("option", { value: value }, label);
    return node;
  }

  function scheduleForm(tile, channels) {
    var details = el("details", { "class": "schedule" });
    details.appendChild(el("summary", {}, t("schedule_report")));
    if (!channels.length) {
      details.appendChild(el("p", { "class": "note" }, t("no_channels")));
      return details;
    }
    var form = el("form", { "class": "schedule-form" });
    var cadence = el("select", { name: "cadence" });
    cadence.appendChild(option("daily", t("daily")));
    cadence.appendChild(option("weekly", t("weekly")));
    var weekday = el("select", { name: "weekday" });
    for (var d = 0; d < 7; d++) weekday.appendChild(option(String(d), t("weekday_" + d)));
    var hour = el("input", { name: "hour", type: "number", min: "0", max: "23", value: "9", required: "" });
    var channel = el("select", { name: "channel" });
    channels.forEach(function (c) { channel.appendChild(option(String(c.id), c.name + " (" + c.kind + ")")); });
    var weekdayLabel = el("label", {}, t("weekday") + " ");
    weekdayLabel.appendChild(weekday);
    weekdayLabel.hidden = true;
    cadence.addEventListener("change", function () { weekdayLabel.hidden = cadence.value !== "weekly"; });
    [[t("cadence"), cadence], null, [fill("send_hour", { zone: body.dataset.zone || "" }), hour], [t("channel"), channel]].forEach(function (pair) {
      if (pair === null) { form.appendChild(weekdayLabel); return; }
      var label = el("label", {}, pair[0] + " ");
      label.appendChild(pair[1]);
      form.appendChild(label);
    });
    form.appendChild(el("button", { type: "submit" }, t("schedule")));
    var status = el("p", { "class": "note schedule-status", role: "status" });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var payload = { cadence: cadence.value, hour: Number(hour.value), channel: Number(channel.value) };
      if (cadence.value === "weekly") payload.weekday = Number(weekday.value);
      send("POST", "/api/saved-questions/" + tile.dataset.id + "/reports", payload).then(function (report) {
        status.textContent = reportText(report);
        return refreshReports(tile);
      }, function (error) { status.textContent = error.message; });
    });
    details.appendChild(form);
    details.appendChild(status);
    return details;
  }

  function tileOf(item, channels) {
    var tile = el("article", { "class": "tile", "data-id": String(item.id), "data-state": "loading" });
    var head = el("header");
    head.appendChild(el("h3", { title: item.question }, item.title));
    var remove = el("button", { type: "button", "class": "remove", title: t("remove") }, t("remove"));
    remove.addEventListener("click", function () {
      send("DELETE", "/api/saved-questions/" + item.id).then(function () {
        var chartId = "tile-chart-" + item.id;
        if (charts[chartId]) { charts[chartId].dispose(); delete charts[chartId]; }
        tile.remove();
        document.getElementById("saved-empty").hidden = document.querySelectorAll("#tiles .tile").length > 0;
      }, function (error) { tile.querySelector(".interpretation").textContent = error.message; });
    });
    head.appendChild(remove);
    tile.appendChild(head);
    tile.appendChild(el("p", { "class": "note interpretation" }));
    tile.appendChild(el("div", { "class": "tile-body" }, t("loading")));
    if (channels) {
      tile.appendChild(el("ul", { "class": "reports note" }));
      tile.appendChild(scheduleForm(tile, channels));
    }
    return tile;
  }

  function loadTiles() {
    var box = document.getElementById("tiles");
    if (!box) return;
    var staff = isAdmin ? Promise.all([
      getJson("/api/reports/channels", new URLSearchParams()),
      getJson("/api/reports", new URLSearchParams())
    ]) : Promise.resolve(null);
    Promise.all([getJson("/api/saved-questions", new URLSearchParams()), staff]).then(function (both) {
      var items = both[0].items;
      var channels = both[1] ? both[1][0].items : null;
      document.getElementById("saved-empty").hidden = items.length > 0;
      box.textContent = "";
      var tiles = items.map(function (item) { return tileOf(item, channels); });
      tiles.forEach(function (tile) { box.appendChild(tile); });
      if (both[1]) tiles.forEach(function (tile) { showReports(tile, both[1][1].items); });
      return Promise.all(tiles.map(answerTile));
    }).then(function () { body.dataset.tiles = "ready"; }, function (error) {
      document.getElementById("saved-empty").hidden = false;
      document.getElementById("saved-empty").textContent = fill("load_failed", { message: error.message });
      body.dataset.tiles = "error";
    });
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "since" || event.target.name === "until") return;
    load();
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); load(); });
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });
  fromUrl();
  load();
  loadTiles();
})();
