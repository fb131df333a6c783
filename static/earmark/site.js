// Every page: progress bars take their width from data-width (a percentage). Written through the CSSOM,
// which the Content-Security-Policy allows, instead of style="" attributes, which would need 'unsafe-inline'.
document.querySelectorAll("[data-width]").forEach((el) => {
  el.style.width = `${Math.max(0, Math.min(100, Number(el.dataset.width) || 0))}%`;
});
