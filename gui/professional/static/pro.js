/* Professional GUI: live values over MQTT WebSockets (mqtt.js) and charts (uPlot), as the logged-in user.
   The voltage bands repeat gui/professional/status.py (EN 50160: 230 V ± 10 %, a warning beyond ± 5 %). */
(function () {
  "use strict";
  var NOMINAL_V = 230, LIMIT_PCT = 10, WARN_PCT = 5, MAX_POINTS = 600;
  var COLOURS = {ok: "#2e7d32", warn: "#f9a825", violation: "#c62828", unknown: "#9e9e9e"};

  function numbers(result) {
    var values = Array.isArray(result) ? result : [result];
    return values.filter(function (v) { return typeof v === "number"; });
  }
  function worstVoltage(result) {
    var worst = null;
    numbers(result).forEach(function (v) {
      if (worst === null || Math.abs(v - NOMINAL_V) > Math.abs(worst - NOMINAL_V)) { worst = v; }
    });
    return worst;
  }
  function band(voltage) {
    if (voltage === null) { return "unknown"; }
    var deviation = Math.abs((voltage - NOMINAL_V) / NOMINAL_V * 100);
    return deviation > LIMIT_PCT ? "violation" : (deviation > WARN_PCT ? "warn" : "ok");
  }
  function seconds(time) { return Date.parse(String(time).split("/")[0]) / 1000; }
  function setState(text) {
    var el = document.getElementById("pro-live-state");
    if (el) { el.textContent = text; el.dataset.state = text; }
    var header = document.getElementById("live-status");  // the shell's indicator (gui/templates/base.html)
    if (header) { header.textContent = text === "live" ? "live: on" : "live: off"; header.classList.toggle("on", text === "live"); }
    document.documentElement.dataset.live = text === "live" ? "on" : "off";
  }

  function connect(sessionUrl, topics, onMessage) {
    if (!topics.length || typeof mqtt === "undefined") { setState("no live data"); return; }
    fetch(sessionUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      var client = mqtt.connect(s.url, {
        username: s.username, password: s.password, protocolVersion: 5, clean: true, reconnectPeriod: 2000,
        clientId: s.clientIdPrefix + "pro-" + Math.random().toString(16).slice(2, 10)});
      client.on("connect", function () {
        client.subscribe(topics, {qos: 0}, function (err) { setState(err ? "subscription refused" : "live"); });
      });
      client.on("message", function (topic, payload) {
        try { onMessage(topic, JSON.parse(payload.toString())); } catch (e) { console.warn("pro: bad message", e); }
      });
      client.on("close", function () { setState("reconnecting…"); });
      window.proMqtt = client;
    }).catch(function (e) { setState("no live data"); console.warn("pro: session", e); });
  }

  // uPlot spreads a single instant over years: show ten minutes around it instead
  function show(plot, data) {
    plot.setData(data);
    var xs = data[0];
    if (xs.length && xs[0] === xs[xs.length - 1]) { plot.setScale("x", {min: xs[0] - 300, max: xs[0] + 300}); }
  }

  function chart(element, names, width) {
    var series = [{}].concat(names.map(function (name, i) {
      return {label: name, spanGaps: true, points: {show: true, size: 5},
              stroke: ["#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#4e342e", "#ad1457"][i % 6]};
    }));
    var data = [[]].concat(names.map(function () { return []; }));
    var plot = new uPlot({width: width || 760, height: 260, series: series,
                          scales: {x: {time: true}}}, data, element);
    return {plot: plot, data: data};
  }

  // one row per instant, in time order: a value for an instant already there fills that row
  function put(data, column, time, value) {
    var xs = data[0], i = xs.length;
    while (i > 0 && xs[i - 1] > time) { i--; }
    if (i > 0 && xs[i - 1] === time) {
      data[column][i - 1] = value;
      return;
    }
    data.forEach(function (values, c) { values.splice(i, 0, c === 0 ? time : (c === column ? value : null)); });
    if (xs.length > MAX_POINTS) { data.forEach(function (values) { values.shift(); }); }
  }

  window.proMap = function (config) {
    var live = JSON.parse(document.getElementById("pro-live-topics").textContent);
    var powerTopics = live.filter(function (t) { return t.key === "P_grid"; });
    var byTopic = {};
    live.forEach(function (t) { byTopic[t.topic] = t; });
    var el = document.getElementById("pro-chart");
    var c = (typeof uPlot !== "undefined" && powerTopics.length) ?
      chart(el, powerTopics.map(function (t) { return t.site; })) : null;
    var count = 0;
    function addPoint(index, time, value) {
      if (!c) { return; }
      put(c.data, index + 1, time, value);
      show(c.plot, c.data);
      el.dataset.points = String(++count);
    }
    powerTopics.forEach(function (t, i) {
      (t.history || []).forEach(function (point) { addPoint(i, point[0], point[1]); });
    });
    count = 0;
    if (el) { delete el.dataset.points; }
    connect(config.session, Object.keys(byTopic), function (topic, observation) {
      var entry = byTopic[topic];
      if (entry.key === "vm") {
        var square = document.querySelector('#pro-map rect.pro-bus[data-bus="' + entry.bus + '"]');
        var b = typeof observation.result === "number" ? band(observation.result * NOMINAL_V) : "unknown";
        if (square) { square.dataset.band = b; square.setAttribute("fill", COLOURS[b]); }
        return;
      }
      var row = document.querySelector('#pro-sites tr[data-site="' + entry.site + '"]');
      if (row) { row.querySelector(".live-time").textContent = observation.phenomenonTime; }
      if (entry.key === "P_grid") {
        if (row) { row.querySelector(".live-power").textContent = Math.round(observation.result); }
        addPoint(powerTopics.indexOf(entry), seconds(observation.phenomenonTime), observation.result);
        return;
      }
      var voltage = worstVoltage(observation.result), vb = band(voltage);
      if (row && voltage !== null) { row.querySelector(".live-voltage").textContent = voltage.toFixed(1); }
      var marker = document.querySelector('#pro-map g.pro-site[data-site="' + entry.site + '"]');
      if (marker) { marker.dataset.band = vb; marker.querySelector("circle").setAttribute("fill", COLOURS[vb]); }
    });
  };

  function summary(result) {
    if (typeof result === "boolean") { return result ? "yes" : "no"; }
    if (result === null || result === undefined) { return "–"; }
    if (Array.isArray(result)) { return result.map(summary).join("; "); }
    if (typeof result === "object") {
      return Object.keys(result).filter(function (k) { return typeof result[k] !== "object" || result[k] === null; })
        .map(function (k) { return k + "=" + summary(result[k]); }).join(", ");
    }
    return String(result);
  }

  window.proStatus = function (config) {
    var keys = JSON.parse(document.getElementById("pro-status-topics").textContent);
    connect(config.session, Object.keys(keys), function (topic, observation) {
      var radial = (observation.parameters || {}).radialId || "(all radials)", stream = keys[topic];
      var cell = document.querySelector("#pro-status-" + stream.controller + ' tr[data-radial="' + radial +
                                        '"] td[data-key="' + stream.key + '"]');
      if (!cell) { return; }
      cell.textContent = summary(observation.result);
      cell.title = observation.phenomenonTime;
      cell.dataset.live = "1";
    });
  };

  window.proEss = function (config) {
    var d = JSON.parse(document.getElementById("pro-ess-data").textContent);
    var el = document.getElementById("pro-ess-chart");
    if (typeof uPlot === "undefined") { return; }
    var data = [d.time, d.planned, d.actual, d.soc];
    var plot = new uPlot({width: 760, height: 300, scales: {x: {time: true}, soc: {range: [0, 100]}},
      series: [{}, {label: "planned [W]", stroke: "#1565c0", spanGaps: true, paths: uPlot.paths.stepped({align: 1})},
               {label: "actual [W]", stroke: "#c62828", spanGaps: true},
               {label: "SoC [%]", stroke: "#2e7d32", scale: "soc", spanGaps: true}],
      axes: [{}, {}, {side: 1, scale: "soc", grid: {show: false}}]}, data, el);
    var topics = Object.keys(d.topics).map(function (k) { return d.topics[k]; });
    connect(config.session, topics, function (topic, observation) {
      put(data, topic === d.topics.SoC ? 3 : 2, seconds(observation.phenomenonTime), observation.result);
      show(plot, data);
      el.dataset.points = String(data[0].length);
    });
  };
}());
