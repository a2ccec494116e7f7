/* The map's frame (quarterhour/ui/mapview.py): a Streamlit component without a build step.
 *
 * It speaks Streamlit's component protocol (apiVersion 1) by postMessage: it says it is ready, takes
 * "streamlit:render" messages, sends values ("streamlit:setComponentValue") and its height
 * ("streamlit:setFrameHeight"). Leaflet comes from this folder (leaflet/), loaded once by index.html.
 *
 * A render's arguments:
 *   token     the base map the page shows now (a rendered folium map, cached by the server)
 *   script, html, header, js_links, css_links
 *             that base: sent only when the server does not know this frame to hold it
 *   layer     the scenario's layer (Leaflet script adding feature groups to window.feature_group)
 *   overlays, overlay_names, hide
 *             layers drawn on the base as overlays of their own (the siting's sites), in the layer control under
 *             overlay_names; the base's overlays named in hide are taken off while they show
 *   height, returned, default
 *
 * The frame keeps its base. When a render names a token it does not hold and brings no base (the frame was
 * remounted or reloaded, the message with the base went to a frame since replaced) it asks for it: it sends
 * a value {want: token, ask: nonce, ...}; the server's next run sends the base.
 * The frame keeps a copy of its base on its own <iframe> element (same origin): reloaded, or moved in the page
 * (which Streamlit does and which reloads an iframe), it draws from that copy without asking.
 * When it holds another base it reloads itself (a clean page for the new one); Streamlit sends it the
 * latest render on ready.
 *
 * A click is sent at once as {"last_clicked": {"lat": ..., "lng": ...}}; a move (zoom, bounds, center when
 * asked for) after 250 ms of quiet.
 */
(function () {
  "use strict";

  var held = null; // the token of the base drawn in this frame
  var drawing = null; // the token of the base being drawn (its links are loading)
  var layerCode = null; // the layer script drawn now
  var returned = ["last_clicked"];
  var clicked = null;
  var lastSent = null;
  var height = null;
  var asked = { token: null, at: 0, nonce: null, times: 0 };
  var MAX_ASKS = 5; // asks for one base per page of this frame: a base that cannot be drawn does not rerun forever
  var retry = null;
  var pending = null; // the render waiting while a base is drawn
  var moveTimer = null;
  var overlayKey = null; // the overlays drawn now (their script, names and what they hide)
  var overlays = []; // [name, group] of the overlays drawn now
  var hidden = []; // [name, layer, was shown] of the base's overlays they hide

  function post(type, data) {
    var message = Object.assign({ isStreamlitMessage: true, type: type }, data || {});
    window.parent.postMessage(message, "*");
  }

  function setHeight(h) {
    var box = document.getElementById("map_div");
    if (box.style.height !== h + "px") {
      box.style.height = h + "px";
      if (window.map) window.map.invalidateSize();
    }
    if (h !== height) {
      height = h;
      post("streamlit:setFrameHeight", { height: h });
    }
  }

  function answer() {
    var map = window.map;
    var all = {
      last_clicked: clicked,
      zoom: map ? map.getZoom() : null,
      bounds: map ? map.getBounds() : null,
      center: map ? map.getCenter() : null,
    };
    var value = {};
    returned.forEach(function (name) {
      if (Object.prototype.hasOwnProperty.call(all, name)) value[name] = all[name];
    });
    return value;
  }

  function send(value) {
    var text = JSON.stringify(value);
    if (text === lastSent) return;
    lastSent = text;
    post("streamlit:setComponentValue", { value: JSON.parse(text), dataType: "json" });
  }

  function ask(token) {
    var now = Date.now();
    if (asked.token === token && (now - asked.at < 1500 || asked.times >= MAX_ASKS)) return;
    var times = asked.token === token ? asked.times + 1 : 1;
    asked = { token: token, at: now, nonce: now.toString(36) + Math.random().toString(36).slice(2, 8), times: times };
    send(Object.assign(answer(), { want: token, ask: asked.nonce }));
    clearTimeout(retry);
    retry = setTimeout(function () {
      if (held !== token && drawing === null) ask(token); // the answer was lost: ask again
    }, 3000);
  }

  function kept(token) {
    // the base an earlier page of this <iframe> element drew, if it is ``token`` (none across origins)
    try {
      var copy = window.frameElement && window.frameElement.__quarterhourBase;
      return copy && copy.token === token ? copy : null;
    } catch (error) {
      return null;
    }
  }

  function keep(args) {
    try {
      if (window.frameElement) {
        window.frameElement.__quarterhourBase = {
          token: args.token,
          script: args.script,
          html: args.html,
          header: args.header,
          css_links: args.css_links,
          js_links: args.js_links,
        };
      }
    } catch (error) {
      // another origin: the frame asks instead
    }
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = src;
      tag.async = false;
      tag.onload = resolve;
      tag.onerror = reject;
      document.body.appendChild(tag);
    });
  }

  function drawBase(args) {
    drawing = args.token;
    (args.css_links || []).forEach(function (href) {
      var tag = document.createElement("link");
      tag.rel = "stylesheet";
      tag.href = href;
      document.head.appendChild(tag);
    });
    var template = document.createElement("template");
    template.innerHTML = args.header || "";
    template.content.querySelectorAll("style").forEach(function (tag) {
      document.head.appendChild(tag);
    });
    var chain = Promise.resolve();
    (args.js_links || []).forEach(function (src) {
      chain = chain.then(function () {
        return loadScript(src);
      });
    });
    return chain.then(function () {
      var extra = document.createElement("div");
      extra.innerHTML = args.html || "";
      document.body.appendChild(extra);
      window.feature_group = [];
      var makeControl = L.control.layers; // the base's layer control, kept for the overlays
      L.control.layers = function () {
        window.layer_control = makeControl.apply(this, arguments);
        return window.layer_control;
      };
      var tag = document.createElement("script");
      tag.textContent = args.script + "\n;window.map = map_div;";
      document.body.appendChild(tag);
      var map = window.map;
      map.on("click", function (e) {
        clicked = { lat: e.latlng.lat, lng: e.latlng.lng };
        send(answer());
      });
      map.on("moveend", function () {
        if (!returned.some((name) => name !== "last_clicked")) return;
        clearTimeout(moveTimer);
        moveTimer = setTimeout(function () {
          send(answer());
        }, 250);
      });
      L.control.layers = makeControl;
      keep(args);
      held = args.token;
      drawing = null;
      layerCode = null;
      overlayKey = null;
      document.documentElement.dataset.base = held; // for tests and tools: the base this frame holds
    });
  }

  function swapLayer(code) {
    if (code === layerCode) return;
    (window.feature_group || []).forEach(function (group) {
      window.map.removeLayer(group);
    });
    window.feature_group = [];
    layerCode = code;
    if (code) (0, eval)(code); // global scope, as a script of the page
  }

  function swapOverlays(code, names, hide) {
    var key = JSON.stringify([code, names, hide]);
    if (key === overlayKey) return;
    overlayKey = key;
    var map = window.map;
    var control = window.layer_control;
    overlays.forEach(function (o) {
      map.removeLayer(o[1]);
      if (control) control.removeLayer(o[1]);
    });
    hidden.forEach(function (o) {
      if (o[2]) map.addLayer(o[1]);
      if (control) control.addOverlay(o[1], o[0]);
    });
    overlays = [];
    hidden = [];
    if (control && hide.length) {
      control._layers.slice().forEach(function (entry) {
        if (!entry.overlay || hide.indexOf(entry.name) < 0) return;
        hidden.push([entry.name, entry.layer, map.hasLayer(entry.layer)]);
        map.removeLayer(entry.layer);
        control.removeLayer(entry.layer);
      });
    }
    if (!code) return;
    var scenario = window.feature_group; // the overlays' script pushes its groups there: a list of their own
    window.feature_group = [];
    try {
      (0, eval)(code);
      window.feature_group.forEach(function (group, i) {
        overlays.push([names[i], group]);
        if (control) control.addOverlay(group, names[i]);
      });
    } finally {
      window.feature_group = scenario;
    }
  }

  function render(args) {
    returned = args.returned || ["last_clicked"];
    if (lastSent === null && args["default"]) lastSent = JSON.stringify(args["default"]);
    setHeight(args.height || 620);
    if (drawing !== null) {
      pending = args; // drawn when the base is
      return;
    }
    if (args.token !== held) {
      if (!args.script) {
        var copy = kept(args.token);
        if (!copy || held !== null) {
          ask(args.token);
          return;
        }
        args = Object.assign({}, args, copy);
      }
      if (held !== null) {
        window.location.reload(); // another base: a clean page draws it (Streamlit renders on ready)
        return;
      }
      drawBase(args).then(
        function () {
          var next = pending || args;
          pending = null;
          render(next);
        },
        function (error) {
          drawing = null;
          console.error("the map's base could not be drawn", error);
        }
      );
      return;
    }
    swapOverlays(args.overlays || "", args.overlay_names || [], args.hide || []);
    swapLayer(args.layer || "");
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || data.type !== "streamlit:render" || event.source !== window.parent) return;
    render(data.args || {});
  });

  post("streamlit:componentReady", { apiVersion: 1 });
})();
