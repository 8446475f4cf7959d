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

// One delegated listener covers every copy button, including ones htmx adds later.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const label = button.dataset.label || button.innerHTML;
  button.dataset.label = label;
  copyText(button.dataset.copy).then(
    () => { button.textContent = "Copied"; },
    () => { button.textContent = "Copy failed: select the link"; },
  ).finally(() => {
    setTimeout(() => { button.innerHTML = button.dataset.label; }, 2000);
  });
});
