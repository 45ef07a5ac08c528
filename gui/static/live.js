// Live values over MQTT WebSockets (vendored mqtt.js), as the logged-in user.
// S4GLive.connect() asks the GUI for the broker's URL and the user's credentials (/session/mqtt), then
// subscribes to every topic named by an element's data-live-topic and to S4GLive.subscribe(topic, fn).
// A notification's body is the Observation; its `result` goes into the element (data-live-scale and
// data-live-digits format numbers), its `phenomenonTime` into the element's title.
(function () {
  "use strict";
  const handlers = new Map();  // topic -> [fn]
  let client = null;

  function status(on) {
    const el = document.getElementById("live-status");
    if (el) { el.textContent = on ? "live: on" : "live: off"; el.classList.toggle("on", on); }
    document.documentElement.dataset.live = on ? "on" : "off";
  }

  function format(el, result) {
    if (typeof result !== "number") { return String(result); }
    const scale = parseFloat(el.dataset.liveScale || "1");
    const digits = parseInt(el.dataset.liveDigits || "0", 10);
    return (result * scale).toFixed(digits);
  }

  function subscribe(topic, fn) {
    if (!handlers.has(topic)) {
      handlers.set(topic, []);
      if (client && client.connected) { client.subscribe(topic, { qos: 0 }); }
    }
    handlers.get(topic).push(fn);
  }

  function bindElements() {
    document.querySelectorAll("[data-live-topic]").forEach(function (el) {
      subscribe(el.dataset.liveTopic, function (body) {
        if (body && "result" in body) {
          el.textContent = format(el, body.result);
          if (body.phenomenonTime) { el.title = body.phenomenonTime; }
          el.classList.remove("stale");
          el.dispatchEvent(new CustomEvent("s4g:live", { detail: body, bubbles: true }));
        }
      });
    });
  }

  async function connect() {
    status(false);
    bindElements();
    const answer = await fetch("/session/mqtt", { credentials: "same-origin", cache: "no-store" });
    if (!answer.ok) { status(false); return; }
    const cfg = await answer.json();
    const clientId = cfg.clientIdPrefix + Math.random().toString(16).slice(2, 10);
    client = mqtt.connect(cfg.url, { username: cfg.username, password: cfg.password, clientId: clientId,
                                     protocolVersion: 5, clean: true, reconnectPeriod: 2000 });
    client.on("connect", function () {
      const topics = Array.from(handlers.keys());
      if (!topics.length) { status(true); return; }
      client.subscribe(topics, { qos: 0 }, function (err) { status(!err); });  // "on" once subscribed
    });
    client.on("close", function () { status(false); });
    client.on("message", function (topic, payload) {
      let body = null;
      try { body = JSON.parse(new TextDecoder().decode(payload)); } catch (e) { return; }
      (handlers.get(topic) || []).forEach(function (fn) { fn(body, topic); });
    });
  }

  window.S4GLive = { connect: connect, subscribe: subscribe };
})();
