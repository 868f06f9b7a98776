// The language switch on every page: English pages link to the same page in zh-CN/, the Chinese
// edition (built into build/zh-CN by scripts/i18n) links back up to it. Relative links only, so
// it works from file:// and from any server of build/ (mdbook serve included).
(() => {
    const chinese = document.documentElement.lang === "zh-CN";
    // mdBook's path_to_root is "" or "../" per level; the page is the path's last levels.
    const depth = (path_to_root.match(/\.\.\//g) || []).length;
    const parts = window.location.pathname.split("/");
    let page = parts.slice(parts.length - 1 - depth).join("/");
    if (page === "" || page.endsWith("/")) {
        page += "index.html";
    }
    const link = document.createElement("a");
    link.className = "language-switch";
    link.href = path_to_root + (chinese ? "../" : "zh-CN/") + page + window.location.hash;
    link.lang = chinese ? "en" : "zh-CN";
    link.hreflang = link.lang;
    link.textContent = chinese ? "English" : "中文";
    link.title = chinese ? "Read this page in English" : "阅读本页的中文版";
    const buttons = document.querySelector(".right-buttons");
    if (buttons) {
        buttons.prepend(link);
    }
})();
