// The dashboard: reads the filters, fetches the JSON endpoints, draws KPI cards, ECharts
// charts and tables, keeps the download links in step, and follows the live feed (SSE).
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
})();
