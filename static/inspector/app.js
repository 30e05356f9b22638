// Recording Inspector: keyboard navigation and small conveniences. No inline scripts anywhere
// (the Content-Security-Policy forbids them); everything hangs off data- attributes.
(function () {
  "use strict";

  function typing(event) {
    const t = event.target;
    return t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
  }

  // --- the list: j/k move a highlighted row, Enter opens it -------------------------------
  // The highlighted row is the one marked `current`, read from the page each time: a swap of
  // another part of it (the facets load after the rows) must not move it, and a new list has none.
  function rows() {
    return Array.from(document.querySelectorAll("#recording-list tbody tr[data-href]"));
  }
  function currentRow() {
    return rows().findIndex((row) => row.classList.contains("current"));
  }
  function highlight(index) {
    const all = rows();
    if (!all.length) return false;
    const cursor = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("current", i === cursor));
    all[cursor].scrollIntoView({ block: "nearest" });
    const link = all[cursor].querySelector("a.open");
    if (link) link.focus({ preventScroll: true });
    return true;
  }

  // --- the search boxes: one history entry per search, not one per letter -----------------
  // The form replaces the URL as results come (hx-replace-url); the first results after a new
  // burst of typing (after a pause of TYPING_PAUSE_MS) push a new entry instead, so that Back
  // returns to the page before that search. Bursts are timed by the keys, not the responses,
  // so a slow server does not make one search several entries.
  const SEARCH_BOXES = ["search", "search-text"];
  const TYPING_PAUSE_MS = 1000;
  let lastTyped = -Infinity;
  let newSearch = false;
  document.addEventListener("input", (event) => {
    if (!SEARCH_BOXES.includes(event.target.id)) return;
    const now = performance.now();
    if (now - lastTyped > TYPING_PAUSE_MS) newSearch = true;
    lastTyped = now;
  });
  // An empty box is left out of the address (`?q=agents`, not `?q=agents&text=`).
  document.addEventListener("htmx:configRequest", (event) => {
    if (!event.detail.elt.matches("form[data-search-form]")) return;
    for (const name of ["q", "text"]) {
      if (event.detail.parameters[name] === "") delete event.detail.parameters[name];
    }
  });
  document.addEventListener("htmx:beforeHistoryUpdate", (event) => {
    const config = event.detail.requestConfig;
    if (!config || !config.elt || !config.elt.matches("form[data-search-form]")) return;
    if (newSearch) event.detail.history.type = "push";
    newSearch = false;
  });

  // --- history: Back twice in a row shows the page the address says -----------------------
  // Each Back asks the server for its page again (htmx-config historyCacheSize 0); an older
  // answer that came last would show the page before. Only the newest request is kept.
  let restoring = null;
  document.addEventListener("htmx:historyCacheMiss", (event) => {
    if (restoring && restoring.readyState !== XMLHttpRequest.DONE) restoring.abort();
    restoring = event.detail.xhr;
  });

  // --- a whole row opens what its link opens (the list's recording, the chunk table's chunk) --
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const row = event.target.closest && event.target.closest("table.list tbody tr");
    if (!row || event.target.closest("a, button, input, select, textarea, summary, label")) return;
    const selected = window.getSelection();
    if (selected && !selected.isCollapsed && row.contains(selected.anchorNode)) return; // copying
    const link = row.querySelector("a.open");
    if (link) link.click();
  });

  // --- the facets fold away on a narrow screen, where the rows come first ------------------
  const narrow = window.matchMedia("(max-width: 900px)");
  let facetsWanted = null; // null: as the screen suits; true/false once the user toggled them
  function fitFacets() {
    const fold = document.getElementById("facet-fold");
    if (!fold) return;
    const open = facetsWanted === null ? !narrow.matches : facetsWanted || !narrow.matches;
    if (fold.open !== open) fold.open = open;
  }
  document.addEventListener("click", (event) => {
    const summary = event.target.closest && event.target.closest("#facet-fold > summary");
    if (summary) facetsWanted = !summary.parentElement.open;
  });
  narrow.addEventListener("change", () => { facetsWanted = null; fitFacets(); });
  document.addEventListener("DOMContentLoaded", fitFacets);
  document.addEventListener("htmx:load", fitFacets);

  // --- the chunk timeline: the picked chunk is marked on the strip and in its table page ----
  // (the chunk's answer brings the table page that holds it, with its row marked: _chunk_table.html)
  document.addEventListener("click", (event) => {
    const mark = event.target.closest && event.target.closest("svg.strip a");
    if (!mark) return;
    document.querySelectorAll("svg.strip .mark.picked").forEach((m) => m.classList.remove("picked"));
    const rect = mark.querySelector(".mark");
    if (rect) rect.classList.add("picked");
  });
  document.addEventListener("htmx:afterSettle", () => {
    const table = document.getElementById("chunk-table");
    const row = table && table.querySelector("tr.picked");
    if (!row) return;
    // Scrolled within the table's own box, not the page (scrollTop, no inline style).
    const above = row.offsetTop < table.scrollTop;
    const below = row.offsetTop + row.offsetHeight > table.scrollTop + table.clientHeight;
    if (above || below) table.scrollTop = Math.max(0, row.offsetTop - table.clientHeight / 3);
  });

  // --- the player: a stream that does not start (503 busy) says so while htmx retries -----
  function waiting(event, shown) {
    const player = event.target.closest && event.target.closest("#player");
    const note = player && player.querySelector("[data-sse-wait]");
    if (note) note.hidden = !shown;
  }
  document.addEventListener("htmx:sseError", (event) => waiting(event, true));
  document.addEventListener("htmx:sseOpen", (event) => waiting(event, false));

  // --- a recording page: j/k go to the next/previous recording of the list it came from ---
  function follow(rel) {
    const link = document.querySelector(`a[data-nav="${rel}"]`);
    if (link) { window.location.href = link.href; return true; }
    return false;
  }

  document.addEventListener("keydown", (event) => {
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    // Esc leaves a search box as it is: a type=search input would clear itself (and the list).
    if (event.key === "Escape" && SEARCH_BOXES.includes(event.target.id)) {
      event.preventDefault();
      event.target.blur();
      return;
    }
    if (typing(event)) return;
    const search = document.getElementById("search");
    if (event.key === "/" && search) {
      event.preventDefault();
      search.focus();
      search.select();
      return;
    }
    const inList = rows().length > 0;
    const cursor = currentRow();
    if (event.key === "j") {
      if (inList ? highlight(cursor + 1) : follow("next")) event.preventDefault();
    } else if (event.key === "k") {
      if (inList ? highlight(cursor < 0 ? 0 : cursor - 1) : follow("prev")) event.preventDefault();
    } else if (event.key === "Enter" && inList && cursor >= 0) {
      event.preventDefault();
      window.location.href = rows()[cursor].dataset.href;
    }
  });

  // --- copy buttons: <button data-copy="text"> or data-copy-from="#id" ---------------------
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy], [data-copy-from]");
    if (!button) return;
    let text = button.dataset.copy;
    if (button.dataset.copyFrom) {
      const source = document.querySelector(button.dataset.copyFrom);
      text = source ? source.textContent : "";
    }
    if (button.dataset.copyAbsolute !== undefined) text = new URL(text, window.location.href).href;
    const done = () => {
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = label; }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
    } else {
      fallbackCopy(text, done);
    }
  });
  function fallbackCopy(text, done) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); done(); } catch (e) { /* nothing to copy with */ }
    area.remove();
  }

  // --- remote images load only when asked: <button data-load-image="url"> ------------------
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-load-image]");
    if (!button) return;
    const img = document.createElement("img");
    img.src = button.dataset.loadImage;
    img.alt = button.dataset.alt || "remote image";
    img.className = "thumb";
    const link = document.createElement("a");
    link.href = button.dataset.loadImage;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.appendChild(img);
    button.replaceWith(link);
  });
})();
