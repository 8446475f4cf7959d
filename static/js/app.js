// billingportal's own JavaScript: small, no dependencies, works with htmx swaps.

// Copy buttons: <button data-copy="text" hidden>. They start hidden so a page without
// JavaScript shows no dead button; shown here, and again for content htmx swaps in.
function showCopyButtons(root) {
  root.querySelectorAll("[data-copy][hidden]").forEach((button) => {
    button.hidden = false;
  });
}

document.addEventListener("DOMContentLoaded", () => showCopyButtons(document));
document.addEventListener("htmx:load", (event) => showCopyButtons(event.target));

function copyText(text) {
  // The Clipboard API needs a secure context (https or localhost); otherwise fall back
  // to a selected, off-screen textarea and the older copy command.
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  return new Promise((resolve, reject) => {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    ok ? resolve() : reject(new Error("copy failed"));
  });
}

// One delegated listener covers every copy button, including ones htmx adds later. What
// it says after copying comes with the button, in the page's language (data-copied,
// data-copy-failed): this file holds no words of its own.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const label = button.dataset.label || button.innerHTML;
  button.dataset.label = label;
  const say = (words) => { if (words) button.textContent = words; };
  copyText(button.dataset.copy).then(
    () => say(button.dataset.copied),
    () => say(button.dataset.copyFailed),
  ).finally(() => {
    setTimeout(() => { button.innerHTML = button.dataset.label; }, 2000);
  });
});

// The language picker comes back to the address shown now: htmx may have pushed another
// one (filters, sort, page) since the page was drawn with its "next".
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches || !form.matches("form.language")) return;
  const next = form.querySelector("input[name=next]");
  if (next) next.value = window.location.pathname + window.location.search;
});

// Filters: leave empty fields out of htmx GETs, so the pushed URL (the one people share
// and bookmark) reads "?status=unpaid" rather than a dozen empty parameters.
document.addEventListener("htmx:configRequest", (event) => {
  const data = event.detail.formData;
  if (event.detail.verb !== "get" || !data) return;
  for (const key of Array.from(new Set(data.keys()))) {
    if (data.getAll(key).every((value) => value === "")) data.delete(key);
  }
});

// Times are shown in the browser's time zone: tell the server which one that is.
(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && !document.cookie.split("; ").includes(`tz=${zone}`)) {
    document.cookie = `tz=${zone}; path=/; max-age=31536000; samesite=lax`;
  }
})();

// The filter form follows the URL, never the other way round while someone types. After
// our own swaps only what the form cannot know changes (the sort and the tab's filters
// come from links); Back restores a snapshot whose controls show their first-render
// values, so then everything is re-read, but never the field the user is typing in.
function syncFiltersFromUrl(all) {
  const form = document.getElementById("filters");
  if (!form) return;
  const params = new URLSearchParams(window.location.search);
  for (const field of form.elements) {
    if (!field.name || field.type === "submit" || field === document.activeElement) continue;
    if (!all && field.type !== "hidden" && field.tagName !== "SELECT") continue;
    if (field.type === "checkbox") {
      field.checked = params.getAll(field.name).includes(field.value);
    } else if (field.tagName === "SELECT") {
      if (params.has(field.name)) field.value = params.get(field.name);
      else field.selectedIndex = 0;
    } else {
      field.value = params.get(field.name) ?? "";
    }
  }
}
document.addEventListener("htmx:pushedIntoHistory", () => syncFiltersFromUrl(false));
document.addEventListener("htmx:historyRestore", () => syncFiltersFromUrl(true));
window.addEventListener("pageshow", () => syncFiltersFromUrl(true));

// The filters wait behind their button: shown by it, hidden again by it or by Escape.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.getElementById("filter-toggle");
  const grid = document.getElementById("filter-grid");
  if (!toggle || !grid) return;
  const show = (open) => {
    grid.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.hidden = false;
  show(false);
  toggle.addEventListener("click", () => show(grid.hidden));
  grid.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      show(false);
      toggle.focus();
    }
  });
});

// After the results are redrawn, focus stays on the control that was used (the same sort
// header, page link or tab in the new results), else it moves to the results' heading;
// the new count is announced.
let focusKey = null;
let resultsSwapped = false;
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.target.id !== "results") return;
  resultsSwapped = true;
  const active = document.activeElement;
  const used = active && (event.detail.target.contains(active) || active.closest("#views"));
  focusKey = used ? (active.dataset.focusKey || "") : null;
});
document.addEventListener("htmx:afterSettle", () => {
  if (!resultsSwapped) return;
  resultsSwapped = false;
  const results = document.getElementById("results");
  const announce = document.getElementById("results-announce");
  const count = results && results.querySelector(".count");
  if (announce && count) announce.textContent = count.textContent.trim();
  if (focusKey === null) return;
  const again = focusKey && document.querySelector(`[data-focus-key="${focusKey}"]`);
  (again || document.getElementById("results-heading")).focus();
  focusKey = null;
});

// A live fragment (a public link, a billing date) that replaced the control in use takes
// the focus with it: to its link or button, so the keyboard user stays where they were.
// (Noted as the request leaves: the button in use is disabled while it runs, which takes
// the focus away from it.)
let liveCell = null;
document.addEventListener("htmx:beforeRequest", (event) => {
  const live = event.detail.elt.closest && event.detail.elt.closest(".live");
  if (live && live.contains(document.activeElement)) liveCell = live.parentElement;
});
document.addEventListener("htmx:afterSettle", () => {
  if (!liveCell) return;
  const next = liveCell.querySelector(".live a, .live button");
  liveCell = null;
  if (next) next.focus();
});

// A live read (next billing date, public link) whose request fails in a way the server
// could not answer for (an error status, which htmx does not swap; no network; the
// time-out) shows a message and a retry instead of "loading…" for ever. Provider errors
// arrive as ordinary answers with their own message and retry.
function showLiveFailure(event) {
  const wrapper = event.detail.elt && event.detail.elt.closest(".live");
  const template = document.getElementById("live-error");
  if (!wrapper || !template || !wrapper.dataset.retryUrl) return;
  const message = template.content.cloneNode(true);
  const retry = message.querySelector("a");
  retry.href = wrapper.dataset.retryUrl;
  retry.setAttribute("hx-get", wrapper.dataset.retryUrl);
  // The wrapper stays (the retry replaces it); its own trigger must not fire again.
  ["hx-get", "hx-trigger", "aria-busy"].forEach((name) => wrapper.removeAttribute(name));
  wrapper.replaceChildren(message);
  htmx.process(wrapper);
}
["htmx:responseError", "htmx:sendError", "htmx:timeout"].forEach((name) => {
  document.addEventListener(name, showLiveFailure);
});

// Keyboard shortcuts on the list: "/" search, "j"/"k" next/previous invoice, Enter opens
// it, "?" lists them. Never while typing in a field, nor with a modifier key held.
function typing(target) {
  return target.closest("input, select, textarea, [contenteditable], dialog");
}
function rows() {
  return Array.from(document.querySelectorAll("#invoice-table tbody tr[data-row]"));
}
function moveRow(step) {
  const all = rows();
  if (!all.length) return;
  const now = all.indexOf(document.activeElement.closest("tr[data-row]"));
  const next = all[Math.min(all.length - 1, Math.max(0, now + step))] || all[0];
  all.forEach((row) => row.classList.toggle("kbd-current", row === next));
  next.focus();
}
document.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
  const search = document.getElementById("id_q");
  const dialog = document.getElementById("shortcuts");
  if (!search) return; // not the list
  if (event.key === "/") {
    event.preventDefault();
    search.focus();
    search.select();
  } else if (event.key === "j" || event.key === "k") {
    event.preventDefault();
    moveRow(event.key === "j" ? 1 : -1);
  } else if (event.key === "Enter" && event.target.matches("tr[data-row]")) {
    const link = event.target.querySelector("a[data-primary]");
    openedFromRow = event.target;
    if (link) link.click();
    openedFromRow = null;
  } else if (event.key === "?" && dialog) {
    event.preventDefault();
    dialog.showModal();
  }
});

// Selecting rows: a tick posts to the selection (kept in the session across pages and
// filters) and the bar shows the new count. Shift-click ticks or unticks the range from
// the box clicked before; the header's box does the whole page.
let lastPick = null;
function pickBoxes() {
  return Array.from(document.querySelectorAll("#invoice-table input[data-pick]"));
}
// Only the ticks that changed are sent. The bar is the request's source, not the box: a
// box belongs to #pick-form, whose every `shown` id would go with it and tell the server
// that all the other rows on the page were unticked (the no-JS submit's meaning).
function postSelection(values) {
  const bar = document.getElementById("selection-bar");
  if (!bar) return;
  const form = bar.querySelector("form.selection-all");
  const extra = form ? { query: form.elements.query.value, matching: form.elements.matching.value } : {};
  htmx.ajax("POST", bar.dataset.url, {
    source: bar, target: "#selection-bar", swap: "outerHTML", values: { ...extra, ...values },
  });
}
document.addEventListener("click", (event) => {
  const box = event.target.closest && event.target.closest("input[data-pick]");
  if (!box) return;
  const boxes = pickBoxes();
  let changed = [box];
  if (event.shiftKey && lastPick && boxes.includes(lastPick)) {
    const [from, to] = [boxes.indexOf(lastPick), boxes.indexOf(box)].sort((a, b) => a - b);
    changed = boxes.slice(from, to + 1);
    changed.forEach((other) => { other.checked = box.checked; });
  }
  lastPick = box;
  const ids = changed.map((other) => other.value);
  postSelection(box.checked ? { pick: ids } : { unpick: ids });
  syncPageBox();
});
document.addEventListener("change", (event) => {
  if (!event.target.matches || !event.target.matches("input[data-pick-page]")) return;
  const boxes = pickBoxes();
  boxes.forEach((box) => { box.checked = event.target.checked; });
  const ids = boxes.map((box) => box.value);
  postSelection(event.target.checked ? { pick: ids } : { unpick: ids });
});
function syncPageBox() {
  const page = document.querySelector("input[data-pick-page]");
  const boxes = pickBoxes();
  if (!page || !boxes.length) return;
  const ticked = boxes.filter((box) => box.checked).length;
  page.checked = ticked === boxes.length;
  page.indeterminate = ticked > 0 && ticked < boxes.length;
}
document.addEventListener("DOMContentLoaded", syncPageBox);
document.addEventListener("htmx:afterSettle", syncPageBox);

// The invoice panel: an invoice opened from the list (click, or Enter on its row) shows
// beside the list at its own URL; Escape or Close puts the list's address back and the
// focus on the row it came from.
let panelOpener = null;
let panelOpenerRow = false; // opened by Enter on the row: the focus goes back to the row
let openedFromRow = null;
let panelListUrl = null;
function panel() {
  return document.getElementById("invoice-panel");
}
document.addEventListener("htmx:beforeRequest", (event) => {
  const opener = event.detail.elt;
  if (!opener.matches || !opener.matches("a[data-open-invoice]")) return;
  panelOpener = opener;
  panelOpenerRow = openedFromRow !== null;
  const shown = panel();
  if (shown && shown.hidden) panelListUrl = window.location.pathname + window.location.search;
});
document.addEventListener("htmx:afterSettle", (event) => {
  const shown = panel();
  if (!shown || event.detail.target !== shown.querySelector(".panel-body")) return;
  shown.hidden = false;
  document.body.classList.add("panel-open");
  const title = shown.querySelector("h2[tabindex]");
  if (title) title.focus();
});
function closePanel() {
  const shown = panel();
  if (!shown || shown.hidden) return;
  shown.hidden = true;
  document.body.classList.remove("panel-open");
  shown.querySelector(".panel-body").replaceChildren();
  if (panelListUrl) history.replaceState(history.state, "", panelListUrl);
  const opener = panelOpener && document.body.contains(panelOpener)
    ? panelOpener
    : document.querySelector(`a[data-open-invoice][href="${panelOpener && panelOpener.getAttribute("href")}"]`);
  const row = opener && panelOpenerRow ? opener.closest("tr[data-row]") : null;
  if (row) row.focus();
  else if (opener) opener.focus();
}
document.addEventListener("click", (event) => {
  if (event.target.closest && event.target.closest("[data-close-panel]")) closePanel();
});
document.addEventListener("keydown", (event) => {
  const shown = panel();
  if (event.key !== "Escape" || !shown || shown.hidden) return;
  if (document.querySelector("dialog[open]")) return;
  event.preventDefault();
  closePanel();
});
document.addEventListener("htmx:historyRestore", () => document.body.classList.remove("panel-open"));
// A list answer that lands while an invoice is open (a search typed just before) keeps
// the invoice's address in the bar; closing the panel goes back to that newer list.
document.addEventListener("htmx:beforeHistoryUpdate", (event) => {
  const shown = panel();
  const body = shown && shown.querySelector(".panel-body");
  if (!body || event.detail.target === body) return;
  if (!shown.hidden) {
    panelListUrl = event.detail.history.path;
    event.detail.history.type = "replace";
    event.detail.history.path = window.location.pathname + window.location.search;
  } else {
    panelListUrl = event.detail.history.path; // an invoice asked for may still be on its way
  }
});

// "Save view" saves the list as shown now: htmx may have changed the address since the
// form was drawn.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches || !form.matches("form[data-current-query]")) return;
  form.elements.query.value = window.location.pathname === "/" ? window.location.search.slice(1) : "";
});

// Inside an invoice (panel or page), an answer that replaced the view (the confirmation
// step, its outcome, a note added) takes the focus to what it says.
let invoiceViewRequest = false;
document.addEventListener("htmx:beforeRequest", (event) => {
  invoiceViewRequest = Boolean(event.detail.elt.closest && event.detail.elt.closest("#invoice-view"));
});
document.addEventListener("htmx:afterSettle", () => {
  if (!invoiceViewRequest) return;
  invoiceViewRequest = false;
  const view = document.getElementById("invoice-view");
  if (!view) return;
  const said = ["#payment-outcome", ".notice[tabindex]", "h2[tabindex]"]
    .map((selector) => view.querySelector(selector))
    .find(Boolean);
  if (said) said.focus();
});
