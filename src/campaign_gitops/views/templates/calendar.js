(function () {
  "use strict";
  var form = document.getElementById("filters");
  var items = document.querySelectorAll(".row[data-campaign]");
  var count = document.getElementById("shown");
  function checked(group) {
    var out = Object.create(null); // a label may be named "constructor"
    form.querySelectorAll('input[name="' + group + '"]').forEach(function (box) {
      if (box.checked) { out[box.value] = true; }
    });
    return out;
  }
  function apply() {
    var channels = checked("channel"), statuses = checked("status"), labels = checked("label");
    var shown = 0;
    items.forEach(function (item) {
      var own = JSON.parse(item.getAttribute("data-labels"));
      var labelled = own.length ? own.some(function (l) { return labels[l]; }) : labels[""];
      var visible = Boolean(channels[item.getAttribute("data-channel")] &&
        statuses[item.getAttribute("data-status")] && labelled);
      item.hidden = !visible;
      var article = document.getElementById("c-" + item.getAttribute("data-campaign"));
      if (article) { article.hidden = !visible; }
      if (visible) { shown += 1; }
    });
    count.textContent = shown + " of " + count.getAttribute("data-total") + " campaigns shown";
    document.documentElement.setAttribute("data-shown", String(shown));
  }
  form.addEventListener("change", apply);
  form.querySelectorAll("button[data-all]").forEach(function (button) {
    button.addEventListener("click", function () {
      var on = button.getAttribute("data-all") === "on";
      form.querySelectorAll('input[name="' + button.getAttribute("data-group") + '"]')
        .forEach(function (box) { box.checked = on; });
      apply();
    });
  });
  apply();
}());
(function () {
  "use strict";
  // a send's time, from where it is drawn: the page carries no title per send (10,000
  // campaigns make 100,000 of them)
  var timeline = document.querySelector(".timeline");
  var start = Number(timeline.getAttribute("data-start"));
  var span = Number(timeline.getAttribute("data-end")) - start;
  var format = new Intl.DateTimeFormat("en-GB", {
    timeZone: timeline.getAttribute("data-tz"), weekday: "short", day: "2-digit",
    month: "short", year: "numeric", hour: "2-digit", minute: "2-digit"
  });
  function at(percent) {
    return format.format(new Date(Math.round((start + span * percent / 100) / 60000) * 60000));
  }
  timeline.addEventListener("mouseover", function (event) {
    var mark = event.target;
    var track = mark.parentNode;
    if (!track || !track.classList || !track.classList.contains("track") || mark.title) {
      return;
    }
    var row = mark.closest(".row");
    var name = row ? row.querySelector(".name a").textContent : "";
    var left = parseFloat(mark.style.left);
    if (mark.tagName === "B") {
      mark.title = name + ": sends on events from " + at(left) + " to " +
        at(left + parseFloat(mark.style.width));
    } else {
      mark.title = at(left) + ": " + name + (mark.className === "p" ? " (when published)" : "");
    }
  });
}());
(function () {
  "use strict";
  // a large page's HTML previews become their sandboxed frames near the viewport only:
  // thousands of frames made at once take Chromium tens of seconds
  var frames = document.querySelectorAll("div.frame[data-srcdoc]");
  if (!frames.length) { return; }
  function load(div) {
    var frame = document.createElement("iframe");
    frame.setAttribute("sandbox", "");  // before any content: no script, no same origin
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.setAttribute("title", div.getAttribute("data-title"));
    frame.setAttribute("srcdoc", div.getAttribute("data-srcdoc"));
    div.replaceWith(frame);
  }
  var margin = 1000;
  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) { observer.unobserve(entry.target); load(entry.target); }
    });
  }, { rootMargin: margin + "px 0px" });
  // those on the first screen at once (an observer's first report comes a frame later); all
  // measured before any is made (a frame made between two measures costs a layout each), by
  // their card: measuring inside a card off screen would lay the card out (content-visibility)
  var near = Array.prototype.filter.call(frames, function (div) {
    var box = (div.closest("article") || div).getBoundingClientRect();
    return box.bottom > -margin && box.top < window.innerHeight + margin;
  });
  near.forEach(load);
  frames.forEach(function (div) { if (near.indexOf(div) < 0) { observer.observe(div); } });
}());
