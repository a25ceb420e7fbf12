// The teacher's kit: formulas drawn by the local KaTeX; the offline site's full-text search.
(function () {
  function renderMath() {
    if (window.renderMathInElement) {
      window.renderMathInElement(document.body, {
        delimiters: [{left: "$$", right: "$$", display: true}, {left: "$", right: "$", display: false},
                     {left: "\\(", right: "\\)", display: false}, {left: "\\[", right: "\\]", display: true}],
        ignoredClasses: ["jp-CodeCell", "rnnlab-search"], throwOnError: false
      });
    }
    document.documentElement.setAttribute("data-math", "done");
  }
  function escapeHtml(s) {
    return s.replace(/[&<>"]/g, function (c) { return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]; });
  }
  // Substring search, case-insensitive: works for Chinese words (no word boundaries to find) and
  // for identifiers such as weight_hh_l0 alike. Pages with more hits come first.
  function search(query) {
    var q = query.trim().toLowerCase(), results = [];
    if (!q || !window.RNNLAB_SEARCH) return results;
    window.RNNLAB_SEARCH.forEach(function (page) {
      var hits = 0, first = null;
      page.sections.forEach(function (s) {
        var text = s.text.toLowerCase(), at = text.indexOf(q), n = 0;
        while (at >= 0) { n++; if (first === null) first = {s: s, at: at}; at = text.indexOf(q, at + q.length); }
        hits += n;
      });
      if (hits) results.push({page: page, hits: hits, first: first});
    });
    results.sort(function (a, b) { return b.hits - a.hits; });
    return results;
  }
  function showResults() {
    var box = document.getElementById("rnnlab-search-results");
    if (!box) return;
    var query = new URLSearchParams(window.location.search).get("q") || "";
    var input = document.getElementById("rnnlab-search-input");
    if (input) input.value = query;
    if (!query.trim()) { box.innerHTML = "<p>在上面的搜索框里输入要找的词。</p>"; return; }
    var results = search(query);
    if (!results.length) { box.innerHTML = "<p>没有找到“" + escapeHtml(query) + "”。</p>"; return; }
    var html = "<p>“" + escapeHtml(query) + "”出现在 " + results.length + " 页：</p><ol>";
    results.forEach(function (r) {
      var s = r.first.s, start = Math.max(0, r.first.at - 30), q = query.trim();
      var before = s.text.slice(start, r.first.at), hit = s.text.substr(r.first.at, q.length);
      var after = s.text.slice(r.first.at + q.length, r.first.at + q.length + 50);
      html += '<li class="rnnlab-search-hit" data-page="' + escapeHtml(r.page.url) + '"><a href="' +
        escapeHtml(r.page.url + (s.anchor ? "#" + s.anchor : "")) + '">' + escapeHtml(r.page.title) +
        (s.heading ? " · " + escapeHtml(s.heading) : "") + "</a>（" + r.hits + " 处）<div class=\"snippet\">…" +
        escapeHtml(before) + "<mark>" + escapeHtml(hit) + "</mark>" + escapeHtml(after) + "…</div></li>";
    });
    box.innerHTML = html + "</ol>";
  }
  window.rnnlabSearch = search;
  document.addEventListener("DOMContentLoaded", function () { renderMath(); showResults(); });
})();
