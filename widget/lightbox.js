/*! Flowkick lightbox and "load more", loaded by widget.js on first use.
 *  The lightbox is a modal <dialog> inside the widget's shadow root, built from the tile
 *  itself (its picture, full caption, date, counts, author and link; a carousel's pictures
 *  and a stored video come from the tile's data-fk-media / data-fk-video), so it needs no
 *  request and shows posts added by "load more" too. Focus moves in and stays there (Tab
 *  wraps), Esc or the close button close it and focus returns to the tile of the post
 *  shown, arrow keys and the buttons move between posts. A video plays when its tile was
 *  clicked (muted, with controls) and never by itself; without a stored file the poster and
 *  the link to the post show instead. Text goes in with textContent only. */
(function () {
  "use strict";
  var SAFE = /^https?:\/\/[^\s]+$/i;
  var SIZES = "(max-width: 900px) 94vw, 560px";
  var CSS = [
    ".fk-lb{box-sizing:border-box;width:min(960px,94vw);max-height:92vh;padding:0;border:0;border-radius:12px;",
    "overflow:auto;background:var(--fk-bg,#fff);color:var(--fk-fg,#1a1a1a);font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
    ".fk-lb::backdrop{background:rgba(0,0,0,.78)}",
    ".fk-lb-body{display:flex;flex-wrap:wrap}",
    ".fk-lb-media{flex:1 1 420px;min-width:0;min-height:240px;display:flex;align-items:center;justify-content:center;background:#000}",
    ".fk-lb-media img,.fk-lb-media video{display:block;max-width:100%;max-height:82vh;width:auto;height:auto;object-fit:contain}",
    ".fk-lb-strip{display:flex;width:100%;overflow-x:auto;scroll-snap-type:x mandatory}",
    ".fk-lb-strip img{flex:0 0 100%;width:100%;scroll-snap-align:start}",
    ".fk-lb-info{flex:1 1 280px;min-width:0;display:flex;flex-direction:column;gap:10px;padding:56px 56px 24px 20px}",
    ".fk-lb-by{margin:0;font-weight:600}.fk-lb-title{margin:0;font-size:16px}",
    ".fk-lb-text{margin:0;white-space:pre-line;overflow-wrap:anywhere}",
    ".fk-lb-meta{display:flex;flex-wrap:wrap;gap:4px 0;color:var(--fk-muted,#595959);font-size:12px}",
    ".fk-lb-meta .fk-stat{display:inline-flex;align-items:center;gap:3px;margin-left:8px}",
    ".fk-lb-meta .fk-icon{width:12px;height:12px}",
    ".fk-lb-link{color:inherit;font-weight:600;text-decoration:underline}",
    ".fk-lb-nav{all:unset;position:absolute;z-index:1;width:40px;height:40px;border-radius:50%;cursor:pointer;text-align:center;",
    "font:700 24px/40px system-ui,sans-serif;color:var(--fk-fg,#1a1a1a);background:var(--fk-bg,#fff);box-shadow:0 1px 4px rgba(0,0,0,.45)}",
    ".fk-lb-nav:focus-visible,.fk-lb-link:focus-visible,.fk-lb-strip:focus-visible{outline:2px solid var(--fk-accent,#1b66d2);outline-offset:2px}",
    ".fk-lb-nav[disabled]{display:none}",
    ".fk-lb-close{top:8px;right:8px}.fk-lb-prev,.fk-lb-next{top:calc(50% - 20px)}.fk-lb-prev{left:8px}.fk-lb-next{right:8px}"
  ].join("");

  function make(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  function button(cls, label, glyph) {
    var b = make("button", "fk-lb-nav " + cls, glyph);
    b.type = "button";
    b.setAttribute("aria-label", label);
    return b;
  }

  function text(item, selector) {
    var e = item.querySelector(selector);
    return e ? e.textContent.trim() : "";
  }

  // The widget's one dialog, made on first use in its root (.flowkick, inside the shadow root).
  function dialog(root) {
    var d = root.querySelector(".fk-lb");
    if (d) return d;
    var labels = (root.getAttribute("data-fk-labels") || "Close|Previous|Next").split("|");
    d = make("dialog", "fk-lb");
    d.append(make("style", "", CSS), button("fk-lb-close", labels[0], "×"), button("fk-lb-prev", labels[1], "‹"),
             button("fk-lb-next", labels[2], "›"), make("div", "fk-lb-body"));
    d.addEventListener("click", function (e) {
      var b = e.target.closest(".fk-lb-nav");
      if (b) b.classList.contains("fk-lb-close") ? shut(d) : step(d, b.classList.contains("fk-lb-next") ? 1 : -1);
      else if (e.target === d) shut(d); // a click on the backdrop
    });
    d.addEventListener("keydown", function (e) { keys(d, e); });
    d.addEventListener("cancel", function (e) { e.preventDefault(); shut(d); }); // Esc
    root.appendChild(d);
    return d;
  }

  // Closed, and focus back on the tile of the post shown (after the browser's own focus restore).
  function shut(d) {
    var media = d.querySelector("video"), tile = d.__item, target = tile.querySelector(".fk-read") || tile.querySelector("a,button");
    if (media) media.pause();
    d.close();
    if (target) target.focus();
  }

  function keys(d, e) {
    if (e.key == "ArrowRight" || e.key == "ArrowLeft") {
      if (e.target.closest && e.target.closest("video")) return; // the video's own seek keys
      e.preventDefault();
      step(d, e.key == "ArrowRight" ? 1 : -1);
    } else if (e.key == "Tab") {
      var all = [].filter.call(d.querySelectorAll("button,a[href],video,[tabindex]"), function (el) { return !el.disabled; });
      var first = all[0], last = all[all.length - 1], here = d.getRootNode().activeElement;
      if (e.shiftKey ? here === first || here === d : here === last) {
        e.preventDefault();
        (e.shiftKey ? last : first).focus();
      }
    }
  }

  function posts(d) {
    return [].slice.call(d.parentNode.querySelectorAll("[data-item]"));
  }

  function step(d, by) {
    var list = posts(d), next = list[list.indexOf(d.__item) + by];
    if (next) show(d, next, false);
  }

  function media(item, play) {
    var box = make("div", "fk-lb-media"), img = item.querySelector("img");
    var video = item.getAttribute("data-fk-video"), pics = (item.getAttribute("data-fk-media") || "").split(" ").filter(function (u) { return SAFE.test(u); });
    if (video && SAFE.test(video)) {
      var v = make("video");
      v.controls = v.muted = v.playsInline = true;
      v.preload = "metadata";
      if (img && SAFE.test(img.currentSrc || img.src)) v.poster = img.currentSrc || img.src;
      v.src = video;
      box.append(v);
      if (play) v.play().catch(function () { /* the controls still work */ });
    } else if (pics.length > 1) {
      var strip = make("div", "fk-lb-strip");
      strip.tabIndex = 0;
      strip.setAttribute("role", "region");
      strip.setAttribute("aria-label", (img && img.alt) || "");
      pics.forEach(function (url, n) {
        var p = make("img");
        p.src = url;
        p.alt = ((img && img.alt) || "") + " (" + (n + 1) + "/" + pics.length + ")";
        strip.append(p);
      });
      box.append(strip);
    } else if (item.querySelector("picture")) {
      var copy = item.querySelector("picture").cloneNode(true);
      [].forEach.call(copy.querySelectorAll("[sizes]"), function (s) { s.setAttribute("sizes", SIZES); });
      copy.querySelector("img").removeAttribute("loading");
      box.append(copy);
    } else {
      return null;
    }
    return box;
  }

  function info(item, root) {
    var box = make("div", "fk-lb-info"), meta = make("div", "fk-lb-meta");
    var by = text(item, ".fk-by") || text(root, ".fk-head .fk-name"), stars = item.querySelector(".fk-stars");
    var link = item.querySelector("a.fk-link,a.fk-date"), reply = item.querySelector(".fk-reply");
    if (by) box.append(make("p", "fk-lb-by", by));
    if (stars) box.append(stars.cloneNode(true));
    if (text(item, ".fk-title")) box.append(make("h2", "fk-lb-title", text(item, ".fk-title")));
    if (text(item, ".fk-text")) box.append(make("p", "fk-lb-text", item.querySelector(".fk-text").textContent));
    if (reply) box.append(reply.cloneNode(true));
    [].forEach.call(item.querySelectorAll("time,.fk-stat"), function (e) { meta.append(e.cloneNode(true)); });
    box.append(meta);
    if (link && SAFE.test(link.href)) {
      var a = make("a", "fk-lb-link", item.getAttribute("data-fk-view") || link.href);
      a.href = link.href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      box.append(a);
    }
    return box;
  }

  function show(d, item, play) {
    var root = d.parentNode, list = posts(d), at = list.indexOf(item), pic = media(item, play);
    var old = d.querySelector("video");
    if (old) old.pause();
    d.__item = item;
    d.querySelector(".fk-lb-body").replaceChildren.apply(d.querySelector(".fk-lb-body"), pic ? [pic, info(item, root)] : [info(item, root)]);
    d.querySelector(".fk-lb-prev").disabled = at <= 0;
    d.querySelector(".fk-lb-next").disabled = at >= list.length - 1;
    d.setAttribute("aria-label", text(item, ".fk-title") || text(item, ".fk-by") || text(root, ".fk-head .fk-name") || item.getAttribute("data-fk-view") || "");
    var focused = d.getRootNode().activeElement;
    if (!focused || focused.disabled || !d.contains(focused)) d.querySelector(".fk-lb-close").focus();
  }

  function open(item) {
    var d = dialog(item.closest(".flowkick"));
    if (!d.open) d.showModal();
    show(d, item, true);
  }

  // "Load more": the next page's items appended below the others, focus on the first of them.
  function more(button, url, parse) {
    var list = button.getRootNode().querySelector(".fk-grid,.fk-list,.fk-track");
    button.disabled = true;
    fetch(url, { credentials: "omit" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    }).then(function (html) {
      var page = parse(html), next = page.querySelector(".fk-load");
      var added = [].map.call(page.querySelectorAll("[data-item]"), function (n) {
        return list.appendChild(document.importNode(n, true));
      });
      if (next) button.setAttribute("data-fk-next", next.getAttribute("data-fk-next"));
      else button.remove();
      button.disabled = false;
      var first = added[0] && added[0].querySelector("a,button");
      if (first) first.focus();
    }).catch(function (e) {
      button.disabled = false;
      try { console.warn("[flowkick] could not load more posts: " + e.message); } catch (x) { /* no console */ }
    });
  }

  (window.FlowkickExtras = window.FlowkickExtras || {}).lightbox = { open: open, more: more };
})();
