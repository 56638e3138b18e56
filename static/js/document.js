// The 说明 page's 打印 button (no inline script under the Content-Security-Policy).
document.querySelectorAll("[data-print]").forEach((button) => button.addEventListener("click", () => window.print()));
