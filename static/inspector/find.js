// A recording's page opened from a content search (`/r/...?text=...`, the list's row links):
// marks the search's words in the page's text and scrolls the first one into view. Words are
// folded as the server folds them (inspector/contents.py): case and accents do not count, a
// quoted phrase is its words in a row whatever stands between them, words match whole.
// Marks are made of the page's own text nodes (never innerHTML): recording content stays text.
(() => {
  "use strict";

  const ACCENTS = /[\u0300-\u036f]+/g;
  const WORD = /[\p{L}\p{N}]+/gu;
  const TERM = /"([^"]*)"?|(\S+)/g;
  // Enough for any page a user reads; a page of a huge stream stays quick.
  const MAX_MARKS = 500;
  const SKIP = "script, style, noscript, template, textarea, select, mark.found, form";

  const fold = (text) =>
    text.normalize("NFD").replace(ACCENTS, "").normalize("NFC").toLowerCase();

  function termsOf(text) {
    const terms = [];
    for (const [, phrase, word] of text.matchAll(TERM)) {
      const words = fold(phrase ?? word).match(WORD);
      if (words) terms.push(words);
    }
    return terms;
  }

  const escaped = (word) => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  function patternOf(terms) {
    const ordered = [...terms].sort((a, b) => b.join("").length - a.join("").length);
    const alternatives = ordered.map((words) => words.map(escaped).join("[^\\p{L}\\p{N}]+"));
    return new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join("|")})(?![\\p{L}\\p{N}])`, "gu");
  }

  // The folded text of a node, and where in the node each folded character is from.
  function folded(text) {
    const whole = fold(text);
    if (whole.length === text.length) return { text: whole, origin: null };
    let out = "";
    const origin = [];
    for (let i = 0; i < text.length; i++) {
      const one = fold(text[i]);
      out += one;
      for (let k = 0; k < one.length; k++) origin.push(i);
    }
    origin.push(text.length);
    return { text: out, origin };
  }

  function textNodes(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: (node) =>
        node.nodeValue.trim() && !node.parentElement?.closest(SKIP)
          ? NodeFilter.FILTER_ACCEPT
          : NodeFilter.FILTER_REJECT,
    });
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    return nodes;
  }

  // Wraps each match in `root` in <mark class="found">; the marks, in page order.
  function mark(root, pattern) {
    const marks = [];
    for (const node of textNodes(root)) {
      if (marks.length >= MAX_MARKS) break;
      const { text, origin } = folded(node.nodeValue);
      const at = (i) => (origin ? origin[i] : i);
      const found = [...text.matchAll(pattern)].map((m) => [at(m.index), at(m.index + m[0].length)]);
      const made = [];
      // Last first: cutting the node's end keeps the earlier offsets where they are.
      for (const [start, end] of found.reverse()) {
        const range = document.createRange();
        range.setStart(node, start);
        range.setEnd(node, end);
        const wrapper = document.createElement("mark");
        wrapper.className = "found";
        range.surroundContents(wrapper);
        made.unshift(wrapper);
      }
      marks.push(...made);
    }
    return marks;
  }

  function show(marks) {
    const seen = marks.find((m) => m.getClientRects().length > 0);
    const first = seen ?? marks[0];
    if (!first) return;
    // In a folded part of the page (a collapsed turn, the raw JSON): unfolded.
    for (let d = first.closest("details:not([open])"); d; d = d.parentElement?.closest("details:not([open])")) {
      d.open = true;
    }
    first.classList.add("first");
    first.scrollIntoView({ block: "center" });
  }

  function start() {
    if (!/\/r\//.test(location.pathname)) return; // the list shows its own snippets
    const text = new URLSearchParams(location.search).get("text");
    if (!text) return;
    const terms = termsOf(text);
    if (!terms.length) return;
    const pattern = patternOf(terms);
    const root = document.getElementById("main") ?? document.body;
    show(mark(root, pattern));
    // Parts of the page loaded later (a chunk table's page) get their marks too.
    document.body.addEventListener("htmx:afterSettle", (event) => {
      if (event.detail?.elt instanceof Element) mark(event.detail.elt, pattern);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
