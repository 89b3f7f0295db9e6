/*! Flowkick analytics, loaded by widget.js when a feed has shown (never under Global
 *  Privacy Control). A feed's owner learns how often it was seen and which posts were
 *  opened, and nothing about who: one sendBeacon per event to /api/v1/events carrying the
 *  publishable key, the kind of event and the post's id. No cookies, no storage, no ids. */
(function () {
  "use strict";

  function counter(host, key) {
    var url = host + "/api/v1/events?api_key=" + encodeURIComponent(key);
    function send(event) {
      try { navigator.sendBeacon(url, JSON.stringify(event)); } catch (e) { /* a lost count is fine */ }
    }
    return {
      // One view per feed shown, once half of it (or half the screen, for a tall feed) is in view.
      watch: function (box) {
        new IntersectionObserver(function (seen, watch) {
          var e = seen[0];
          if (e.intersectionRatio >= 0.5 || e.intersectionRect.height >= innerHeight / 2) {
            watch.disconnect();
            send({ type: "view" });
          }
        }, { threshold: [0.1, 0.3, 0.5] }).observe(box);
      },
      click: function (item) { send({ type: "click", item: item }); }
    };
  }

  (window.FlowkickExtras = window.FlowkickExtras || {}).analytics = counter;
})();
