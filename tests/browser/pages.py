"""Steps the browser tests share."""


def sign_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def watch_policy(page) -> list[str]:
    """Console errors of the page (a CSP violation is reported there) and failed scripts."""
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def axe_violations(page, selector: str | None = None) -> list[str]:
    """What axe-core (bundled by axe-playwright-python, no network) finds wrong on the page, of
    any impact, one line per rule with the first offending elements."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=selector)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results.response["violations"]
    ]


def small_targets(page, within: str = "body", minimum: int = 40) -> list[str]:
    """The visible controls under `within` smaller than `minimum` px either way. A checkbox's
    target is its label (a click on it toggles the box); links inside a sentence are exempt, as
    WCAG 2.5.8 exempts them."""
    return page.evaluate(
        """([within, minimum]) => {
          const found = [];
          const root = document.querySelector(within);
          const controls = root.querySelectorAll(
            'a[href], button, select, textarea, summary, input:not([type=hidden])');
          for (const el of controls) {
            const style = getComputedStyle(el);
            if (!el.getClientRects().length || style.visibility === 'hidden') continue;
            if (el.tagName === 'A' && !el.classList.contains('btn') && el.closest('p, .alert')) continue;
            let box = el;
            if (el.type === 'checkbox' || el.type === 'radio') {
              box = el.closest('label, .form-check') || el;
            }
            const r = box.getBoundingClientRect();
            if (r.width === 0 && r.height === 0) continue;
            if (r.width < minimum || r.height < minimum) {
              found.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}` +
                ` "${(el.textContent || el.value || el.name || '').trim().slice(0, 30)}"` +
                ` ${Math.round(r.width)}x${Math.round(r.height)}`);
            }
          }
          return found;
        }""",
        [within, minimum],
    )
