(function () {
  "use strict";
  var input = document.getElementById("search");
  var count = document.getElementById("count");
  var empty = document.getElementById("empty");
  var entries = Array.prototype.slice.call(document.querySelectorAll("article.entry"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("section.group"));
  var errorTotal = document.querySelectorAll("article.entry:not(.field)").length;

  function apply() {
    var terms = input.value.toLowerCase().split(/\s+/).filter(function (t) { return t.length > 0; });
    var shown = 0;
    entries.forEach(function (entry) {
      var haystack = entry.getAttribute("data-search") || "";
      var match = terms.every(function (t) { return haystack.indexOf(t) !== -1; });
      entry.hidden = !match;
      if (match && !entry.classList.contains("field")) { shown += 1; }
    });
    groups.forEach(function (group) {
      group.hidden = terms.length > 0 && !group.querySelector("article.entry:not([hidden])");
    });
    count.textContent = terms.length === 0 ? errorTotal + " codes" : shown + " of " + errorTotal + " codes";
    empty.hidden = terms.length === 0 || document.querySelector("article.entry:not([hidden])") !== null;
  }

  function remember() {
    if (window.history && window.history.replaceState) {
      var query = input.value === "" ? "" : "?q=" + encodeURIComponent(input.value);
      window.history.replaceState(null, "", window.location.pathname + query + window.location.hash);
    }
  }

  var initial = /[?&]q=([^&#]*)/.exec(window.location.search);
  if (initial) {
    try {
      input.value = decodeURIComponent(initial[1].replace(/\+/g, " "));
    } catch (e) {
      input.value = "";
    }
    apply();
  }
  input.addEventListener("input", function () { apply(); remember(); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && document.activeElement !== input) {
      event.preventDefault();
      input.focus();
    } else if (event.key === "Escape" && document.activeElement === input) {
      input.value = "";
      apply();
    }
  });
  window.addEventListener("hashchange", function () {
    if (input.value !== "") { input.value = ""; apply(); remember(); }
  });
})();
