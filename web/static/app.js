// netkick's live updates: the page works without this file; with it, the
// hosts table, the state counts and a host's timeline follow the server's
// event stream without a reload. Text only: nothing received is parsed as HTML.
"use strict";
(function () {
  function ago(t) {
    var d = Math.max(0, (Date.now() - Date.parse(t)) / 1000);
    if (d < 60) return Math.floor(d) + "s";
    if (d < 3600) return Math.floor(d / 60) + "m";
    if (d < 172800) return Math.floor(d / 3600) + "h";
    return Math.floor(d / 86400) + "d";
  }
  function tickAges() {
    document.querySelectorAll("td.age[data-time]").forEach(function (td) {
      var t = td.getAttribute("data-time");
      if (t) td.textContent = ago(t);
    });
  }
  function setText(tr, cls, text) {
    var el = tr.querySelector("td." + cls);
    if (el) el.textContent = text;
  }
  function stateSpan(el, state) {
    el.textContent = state;
    el.className = "state-" + state;
  }
  function onRow(row) {
    var tr = document.querySelector('tr[data-mac="' + row.mac + '"]');
    if (tr) {
      var a = tr.querySelector("td.hostname a");
      if (a) a.textContent = row.hostname;
      setText(tr, "macs", row.macs);
      setText(tr, "ip", row.ip);
      setText(tr, "profile", row.profile);
      setText(tr, "roles", row.roles);
      setText(tr, "last", row.last);
      var labels = tr.querySelector("td.labels");
      if (labels) {
        labels.textContent = "";
        (row.labels || []).forEach(function (l) {
          var s = document.createElement("span");
          s.className = "label";
          s.textContent = l;
          labels.appendChild(s);
          labels.appendChild(document.createTextNode(" "));
        });
      }
      var st = tr.querySelector("td.state span");
      if (st) stateSpan(st, row.state);
      var age = tr.querySelector("td.age");
      if (age) {
        age.setAttribute("data-time", row.last_time);
        age.textContent = row.age;
      }
      tr.classList.add("changed");
      setTimeout(function () { tr.classList.remove("changed"); }, 1500);
    }
    var tl = document.getElementById("timeline");
    var hs = document.getElementById("state");
    if (tl && hs && tl.getAttribute("data-host") === row.mac) stateSpan(hs, row.state);
  }
  function onCounts(c) {
    Object.keys(c).forEach(function (k) {
      var el = document.querySelector('[data-count="' + k + '"]');
      if (el) el.textContent = String(c[k]);
    });
  }
  function onTimeline(e) {
    var tl = document.getElementById("timeline");
    if (!tl || tl.querySelector('li[data-id="' + e.id + '"]')) return;
    var li = document.createElement("li");
    li.setAttribute("data-id", String(e.id));
    var t = document.createElement("time");
    t.setAttribute("datetime", e.time);
    t.textContent = e.time;
    var b = document.createElement("b");
    b.textContent = e.kind;
    var pre = document.createElement("pre");
    pre.textContent = e.detail;
    li.appendChild(t);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(b);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(pre);
    tl.insertBefore(li, tl.firstChild);
    tl.setAttribute("data-last", String(e.id));
  }
  function start() {
    var table = document.getElementById("hosts");
    var tl = document.getElementById("timeline");
    if (!table && !tl) return;
    var q = new URLSearchParams();
    if (table) q.set("hosts", table.getAttribute("data-watch") || "");
    if (tl) {
      q.set("host", tl.getAttribute("data-host"));
      q.set("last", tl.getAttribute("data-last") || "0");
    }
    var live = document.getElementById("live");
    var es = new EventSource("/web/events?" + q.toString());
    document.body.setAttribute("data-live", "connecting");
    es.onopen = function () {
      document.body.setAttribute("data-live", "open");
      if (live) live.textContent = "Live: updates arrive without a reload.";
    };
    es.onerror = function () {
      document.body.setAttribute("data-live", "retrying");
      if (tl) q.set("last", tl.getAttribute("data-last") || "0");
    };
    es.addEventListener("row", function (m) { onRow(JSON.parse(m.data)); });
    es.addEventListener("counts", function (m) { onCounts(JSON.parse(m.data)); });
    es.addEventListener("timeline", function (m) { onTimeline(JSON.parse(m.data)); });
    setInterval(tickAges, 5000);
  }
  document.addEventListener("DOMContentLoaded", start);
})();
