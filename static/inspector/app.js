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
    if (event.key === "Escape" && event.target.id === "search") { event.target.blur(); return; }
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
