/* Dispute Desk, staff workspace: keyboard shortcuts and the help overlay.
   Everything here is a shortcut for a link, a field or a button that works
   without it. Loaded as a file (Content-Security-Policy: script-src 'self').

     /      go to the search box
     j, k   next / previous case in the list (Enter opens it)
     a      assign the selected case to me (on a case page: this case)
     ?      show the shortcuts; Esc closes them
*/
"use strict";

(() => {
  const typing = (element) =>
    element instanceof HTMLElement &&
    (element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName));

  const rows = () => Array.from(document.querySelectorAll("tr[data-reference]"));

  const currentRow = () => document.querySelector("tr[data-reference].current");

  function select(row) {
    for (const other of document.querySelectorAll("tr[data-reference].current")) {
      other.classList.remove("current");
    }
    if (!row) return;
    row.classList.add("current");
    const link = row.querySelector("a.case-link");
    if (link) link.focus();
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const focused = document.activeElement && document.activeElement.closest("tr[data-reference]");
    const index = all.indexOf(focused || currentRow());
    const next = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[next]);
  }

  function assignToMe() {
    const onCase = document.getElementById("assign-to-me");
    if (onCase) {
      onCase.requestSubmit();
      return;
    }
    const row = (document.activeElement && document.activeElement.closest("tr[data-reference]")) || currentRow();
    const take = row && row.querySelector("form.take");
    if (take) take.requestSubmit();
  }

  function openDialog(id) {
    const dialog = document.getElementById(id);
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (document.querySelector("dialog[open]")) return; // Esc closes it (the browser does)
    switch (event.key) {
      case "/": {
        const search = document.querySelector("input[type=search][name=q]");
        if (search) {
          event.preventDefault();
          search.focus();
          search.select();
        }
        break;
      }
      case "j":
        event.preventDefault();
        move(1);
        break;
      case "k":
        event.preventDefault();
        move(-1);
        break;
      case "a":
        event.preventDefault();
        assignToMe();
        break;
      case "?":
        event.preventDefault();
        openDialog("shortcuts");
        break;
      default:
    }
  });

  // The queue's filters apply as soon as one is chosen (the form submits; htmx sends it).
  document.addEventListener("change", (event) => {
    const field = event.target;
    if (field instanceof HTMLElement && field.matches("[data-autosubmit]") && field.form) field.form.requestSubmit();
  });

  document.addEventListener("click", (event) => {
    const opener = event.target instanceof Element && event.target.closest("[data-open-dialog]");
    if (opener) openDialog(opener.dataset.openDialog);
  });

  // A row clicked (not on its link or controls) becomes the selected one.
  document.addEventListener("focusin", (event) => {
    const row = event.target instanceof Element && event.target.closest("tr[data-reference]");
    if (row && !row.classList.contains("current")) {
      for (const other of document.querySelectorAll("tr[data-reference].current")) other.classList.remove("current");
      row.classList.add("current");
    }
  });
})();
