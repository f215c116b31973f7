// The findings inbox: the selection column's header box ticks or clears every row of the page.
document.addEventListener("change", (event) => {
  if (!event.target.matches("[data-tick-page]")) return;
  for (const box of document.querySelectorAll('input[name="ids"]')) box.checked = event.target.checked;
});
