/*! Flowkick widget: a business's own social posts and reviews, one script tag.
 *  <script src="https://HOST/widget.js?key=PK&platform=instagram" async></script>
 *  or <div data-flowkick data-platform="google_reviews" data-key="PK"></div> + the script.
 *  Reserves the feed's height first, fetches the server's HTML fragment, strips anything
 *  active from it and mounts it in a shadow root. Never throws into the host page. */
(function () {
  "use strict";
  var script = document.currentScript;
  // Box sizes fixed by embed.css: padding, header, list row, review card, badge.
  var PAD = 12, HEAD = 56, ROW = 96, CARD = 200, BADGE = 56;
  var TALL = { tiktok: 16 / 9, youtube: 9 / 16 }; // tile height / width
  var LAYOUT = { google_reviews: "cards", google: "cards", google_maps: "cards", twitter: "list", x: "list", facebook: "list" };
  var OWN = /^(flowkick|platform|key|host|css)$/;
  var ACTIVE = /^(script|iframe|frame|object|embed|base|meta|link|form|animate|set|foreignobject)$/i;
  var URLATTR = /^(href|src|srcset|action|formaction|xlink:href|poster)$/i;

  function warn(message) {
    try { console.warn("[flowkick] " + message); } catch (e) { /* no console: stay silent */ }
  }

  // One widget's settings: the script's query string, then data-* attributes, snake_cased.
  function settings(el, query) {
    var s = {}, k;
    if (query) query.forEach(function (v, k) { s[k] = v; });
    for (k in el.dataset) s[k.replace(/[A-Z]/g, function (c) { return "_" + c.toLowerCase(); })] = el.dataset[k];
    return s;
  }

  // The height the fragment will have, from the same numbers embed.css uses.
  function reserve(s, width) {
    var layout = s.layout || LAYOUT[s.platform] || "grid", n = +s.limit || 12;
    var gap = s.gap ? +s.gap : 8, cols = +s.columns || (layout == "carousel" ? 4 : 3);
    var head = /^(0|false)$/.test(s.header) ? 0 : HEAD, rows = Math.ceil(n / cols);
    var tile = (width - 2 * PAD - (cols - 1) * gap) / cols * (TALL[s.platform] || 1);
    var body = layout == "badge" ? BADGE - head
      : layout == "list" ? n * ROW + (n - 1) * gap
      : layout == "carousel" ? tile
      : rows * (layout == "cards" ? CARD : tile) + (rows - 1) * gap;
    return Math.ceil(2 * PAD + head + body) + 1;
  }

  function fragmentUrl(host, s) {
    var q = new URLSearchParams(), k;
    for (k in s) if (!OWN.test(k)) q.set(k, s[k]);
    if (s.key) q.set("api_key", s.key);
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

  // Parse with DOMParser (nothing runs or loads there) and import the nodes: no innerHTML.
  function show(box, html) {
    var shadow = box.shadowRoot || box.attachShadow({ mode: "open" });
    var body = clean(new DOMParser().parseFromString(html, "text/html").body);
    var nodes = [].map.call(body.childNodes, function (n) { return document.importNode(n, true); });
    shadow.replaceChildren.apply(shadow, nodes);
    var root = shadow.querySelector(".flowkick");
    if (root) root.classList.add("fk-js");
    return root;
  }

  function scroll(event) {
    var button = event.target.closest && event.target.closest("[data-fk-dir]");
    var view = button && button.parentNode.querySelector(".fk-viewport");
    if (view) view.scrollBy({ left: button.getAttribute("data-fk-dir") * view.clientWidth * 0.75, behavior: "smooth" });
  }

  function load(box, s, host, tries) {
    var name = s.platform || s.platforms || "feed";
    fetch(fragmentUrl(host, s), { credentials: "omit" }).then(function (r) {
      return r.text().then(function (html) {
        var root = show(box, html);
        if (r.status == 202 && tries < 30) {
          var wait = Math.min(Math.max(+r.headers.get("Retry-After") || 5, 1), 300);
          setTimeout(function () { load(box, s, host, tries + 1); }, wait * 1000);
        } else if (!r.ok) {
          box.style.minHeight = "";
          warn(name + " feed answered HTTP " + r.status + (root ? " (" + root.getAttribute("data-error-code") + ")" : ""));
        } else if (root && root.offsetHeight >= parseFloat(box.style.minHeight)) {
          box.style.minHeight = "";
        }
      });
    }).catch(function (e) {
      box.style.minHeight = "";
      warn("could not load the " + name + " feed from " + host + ": " + e.message);
    });
  }

  function mount(box, s, host) {
    if (box.__flowkick) return;
    box.__flowkick = 1;
    if (!host) return warn("no server address: add data-host to the placeholder");
    delete s.css; // the shadow root cannot see a host stylesheet
    box.style.display = "block";
    box.style.minHeight = reserve(s, box.getBoundingClientRect().width) + "px";
    (box.shadowRoot || box.attachShadow({ mode: "open" })).addEventListener("click", scroll);
    load(box, s, host.replace(/\/+$/, ""), 0);
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
