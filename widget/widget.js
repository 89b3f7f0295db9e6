/*! Flowkick widget: a business's own social posts and reviews, one script tag.
 *  <div data-flowkick data-platform="instagram" data-key="PK">…</div> + <script src="https://HOST/widget.js" async>
 *  Keeps the placeholder's space, fetches the HTML fragment and its stylesheet, strips
 *  anything active and mounts them in a shadow root. Never throws into the host page. */
(function () {
  "use strict";
  var script = document.currentScript;
  // Box sizes fixed by embed.css: padding, header, list row, review card, badge.
  var PAD = 12, HEAD = 56, ROW = 96, CARD = 200, BADGE = 56, FOOT = 44;
  var TALL = { tiktok: 16 / 9, youtube: 9 / 16 }; // tile height / width
  var LAYOUT = { google_reviews: "cards", google: "cards", google_maps: "cards", twitter: "list", x: "list", facebook: "list" };
  var OWN = /^(flowkick|platform|key|host|css)$/;
  var ACTIVE = /^(script|iframe|frame|object|embed|base|meta|link|form|animate|set|foreignobject)$/i;
  var URLATTR = /^(href|src|srcset|action|formaction|xlink:href|poster)$/i;

  function warn(message) {
    try { console.warn("[flowkick] " + message); } catch (e) { /* no console: stay silent */ }
  }

  // A widget's settings: the script's query string, then data-* attributes, snake_cased.
  function settings(el, query) {
    var s = {}, k;
    if (query) query.forEach(function (v, k) { s[k] = v; });
    for (k in el.dataset) s[k.replace(/[A-Z]/g, function (c) { return "_" + c.toLowerCase(); })] = el.dataset[k];
    return s;
  }

  // The fragment's height, by the numbers embed.css uses.
  function reserve(s, width) {
    var layout = s.layout || LAYOUT[s.platform] || "grid", n = +s.limit || 12;
    var gap = s.gap ? +s.gap : 8, cols = +s.columns || (layout == "carousel" ? 4 : 3);
    var head = /^(0|false)$/.test(s.header) ? 0 : HEAD, rows = Math.ceil(n / cols);
    var tile = (width - 2 * PAD - (cols - 1) * gap) / cols * (TALL[s.platform] || 1);
    var body = layout == "badge" ? BADGE - head
      : layout == "list" ? n * ROW + (n - 1) * gap
      : layout == "carousel" ? tile
      : rows * (layout == "cards" ? CARD : tile) + (rows - 1) * gap;
    var foot = /^(1|true)$/.test(s.more) && layout != "badge" ? FOOT : 0;
    return Math.ceil(2 * PAD + head + body + foot) + 1;
  }

  function fragmentUrl(host, s, cursor) {
    var q = new URLSearchParams(), k;
    for (k in s) if (!OWN.test(k)) q.set(k, s[k]);
    if (s.key) q.set("api_key", s.key);
    if (cursor) q.set("cursor", cursor);
    q.set("css", "none");
    return host + "/embed/" + encodeURIComponent(s.platform || "feed") + "?" + q;
  }

  // Defence in depth: the server escapes everything, and we still drop anything active.
  function clean(root) {
    var all = root.querySelectorAll("*"), i, j, el, a;
    for (i = 0; i < all.length; i++) {
      el = all[i];
      if (ACTIVE.test(el.tagName)) { el.remove(); continue; }
      for (j = el.attributes.length - 1; j >= 0; j--) {
        a = el.attributes[j];
        if (/^on/i.test(a.name) || (URLATTR.test(a.name) && !/^https?:/i.test(a.value.trim()))) el.removeAttribute(a.name);
      }
    }
    return root;
  }

  var sheets = {}; // embed.css per server
  function sheet(host) {
    return sheets[host] = sheets[host] || fetch(host + "/embed.css").then(function (r) {
      if (r.ok) return r.text();
      throw Error("embed.css " + r.status);
    });
  }

  // Parse with DOMParser (nothing runs or loads there) and import the nodes: no innerHTML.
  function show(box, html, css) {
    var shadow = box.shadowRoot, style = document.createElement("style");
    style.textContent = css;
    shadow.replaceChildren(style);
    [].forEach.call(parse(html).childNodes, function (n) { shadow.append(document.importNode(n, true)); });
    var root = shadow.querySelector(".flowkick");
    if (root) root.classList.add("fk-js");
    return root;
  }

  function parse(html) {
    return clean(new DOMParser().parseFromString(html, "text/html").body);
  }

  // Arrows, "load more", and a plain click on a post opens the lightbox (others follow the link).
  // No cookies, no visitor ids (widget/analytics.js), and nothing at all under Global Privacy Control.
  function count(host, s, then) {
    if (!navigator.globalPrivacyControl && s.key) use(host, "analytics", function (a) { then(a(host, s.key)); });
  }

  function clicks(s, host) {
    return function (event) {
      var t = event.target, b = t.closest("[data-fk-dir]"), view = b && b.parentNode.querySelector(".fk-viewport");
      var item = t.closest("[data-item]");
      if (view) return view.scrollBy({ left: b.getAttribute("data-fk-dir") * view.clientWidth * 0.75, behavior: "smooth" });
      if (b = t.closest(".fk-load")) return use(host, "lightbox", function (x) { x.more(b, fragmentUrl(host, s, b.getAttribute("data-fk-next")), parse); });
      if (!item || !t.closest(".fk-link,.fk-read") || event.ctrlKey || event.metaKey || event.shiftKey || event.button) return;
      event.preventDefault();
      count(host, s, function (a) { a.click(item.getAttribute("data-item")); });
      use(host, "lightbox", function (x) { x.open(item); });
    };
  }

  // The lightbox with "load more" and the view counter load on first use: widget/NAME.js.
  var waiting = {};
  function use(host, name, then) {
    var have = window.FlowkickExtras || {}, q = waiting[name];
    if (have[name]) return then(have[name]);
    if (!q) {
      q = waiting[name] = [];
      var tag = document.createElement("script");
      tag.src = host + "/widget/" + name + ".js";
      tag.onload = function () { delete waiting[name]; q.forEach(function (f) { f(window.FlowkickExtras[name]); }); };
      tag.onerror = function () { delete waiting[name]; warn("could not load " + tag.src); };
      document.head.appendChild(tag);
    }
    q.push(then);
  }

  function load(box, s, host, tries) {
    var name = s.platform || s.platforms || "feed";
    Promise.all([fetch(fragmentUrl(host, s), { credentials: "omit" }), sheet(host)]).then(function (got) {
      var r = got[0];
      return r.text().then(function (html) {
        var root = show(box, html, got[1]);
        if (r.status == 202 && tries < 30) {
          var wait = Math.min(Math.max(+r.headers.get("Retry-After") || 5, 1), 300);
          setTimeout(function () { load(box, s, host, tries + 1); }, wait * 1000);
        } else if (!r.ok) {
          box.style.minHeight = "";
          warn(name + " feed answered HTTP " + r.status + (root ? " (" + root.getAttribute("data-error-code") + ")" : ""));
        } else {
          if (root && root.offsetHeight >= parseFloat(box.style.minHeight)) box.style.minHeight = "";
          if (r.status == 200) count(host, s, function (a) { a.watch(box); });
        }
      });
    }).catch(function (e) {
      sheets = {};
      box.style.minHeight = "";
      warn("could not load the " + name + " feed from " + host + ": " + e.message);
    });
  }

  function mount(box, s, host) {
    if (box.__flowkick) return;
    box.__flowkick = 1;
    if (!host) return warn("no server address: add data-host to the placeholder");
    box.style.display = "block";
    // A published placeholder already holds its space (a spacer the shadow root will hide).
    var space = box.getBoundingClientRect();
    box.style.minHeight = (space.height || reserve(s, space.width)) + "px";
    host = host.replace(/\/+$/, "");
    (box.shadowRoot || box.attachShadow({ mode: "open" })).addEventListener("click", clicks(s, host));
    load(box, s, host, 0);
  }

  function placeholders(host) {
    var els = document.querySelectorAll("[data-flowkick]"), i;
    for (i = 0; i < els.length; i++) {
      try { mount(els[i], settings(els[i]), els[i].getAttribute("data-host") || host); } catch (e) { warn(e.message); }
    }
  }

  try {
    var src = script && script.src ? new URL(script.src) : null;
    var host = script && script.getAttribute("data-host") || (src && src.origin);
    var own = script ? settings(script, src && src.searchParams) : {};
    if ((own.platform || own.platforms) && script.parentNode !== document.head) {
      var box = document.createElement("div");
      script.parentNode.insertBefore(box, script.nextSibling);
      mount(box, own, host);
    }
    if (document.readyState == "loading") {
      // Mount placeholders as the parser adds them, before the first paint can show them empty.
      var watch = new MutationObserver(function () { placeholders(host); });
      watch.observe(document, { childList: true, subtree: true });
      document.addEventListener("DOMContentLoaded", function () { watch.disconnect(); placeholders(host); });
    } else {
      placeholders(host);
    }
  } catch (e) {
    warn(e.message);
  }
})();
