"""The virtual-terminal page served at ``/``: each terminal's pending intent with Approve / Decline
buttons (posting to the control API), the pending intents without a terminal, and the last
finished ones. Built from the control API's listings only."""

import html

from .rules import PENDING

FINISHED_INTENTS_ON_PAGE = 8

PAGE_STYLE = """
body { font-family: sans-serif; margin: 1.5rem; background: #f4f5f7; color: #222; }
section.terminal, div.intent { background: #fff; border-radius: 8px; padding: 1rem;
  margin-bottom: 1rem; box-shadow: 0 1px 3px rgba(0, 0, 0, .15); }
.amount { font-size: 1.6rem; font-weight: bold; margin: .2rem 0; }
.empty { color: #777; }
.notice { background: #fff3cd; padding: .6rem 1rem; border-radius: 6px; }
.declined { color: #b00020; }
form { display: inline; }
button { font-size: 1rem; padding: .5rem 1.2rem; margin-right: .5rem; border: 0;
  border-radius: 6px; color: #fff; cursor: pointer; }
button.approve { background: #1b7f3b; }
button.decline { background: #b00020; }
table { border-collapse: collapse; background: #fff; }
th, td { padding: .3rem .7rem; border-bottom: 1px solid #ddd; text-align: left; }
"""


def render_terminal_page(terminals, intents, notice=None):
    """HTML of the virtual-terminal page from the control listings of terminals and intents."""
    open_intents = [intent for intent in intents if _is_open(intent)]
    finished = [intent for intent in intents if not _is_open(intent)]
    terminal_sections = "".join(
        _terminal_section(
            terminal["code"],
            [intent for intent in open_intents if intent["terminalCode"] == terminal["code"]],
        )
        for terminal in terminals
    )
    unassigned = [intent for intent in open_intents if intent["terminalCode"] is None]
    notice_html = f'<p class="notice">{html.escape(notice)}</p>' if notice else ""
    return f"""<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="2; url=/">
<title>Compago simulator</title>
<style>{PAGE_STYLE}</style>
</head>
<body>
<h1>Terminales virtuales Compago / Compago virtual terminals</h1>
{notice_html}
{terminal_sections}
<h2>Cobros pendientes sin terminal / Pending intents without a terminal</h2>
{_intent_cards(unassigned)}
<h2>Últimos cobros terminados / Recently finished intents</h2>
{_finished_table(finished[:FINISHED_INTENTS_ON_PAGE])}
</body>
</html>
"""


def _is_open(intent):
    return intent["status"] == PENDING and not intent["expired"]


def _terminal_section(code, intents):
    return (
        f'<section class="terminal"><h2>Terminal {html.escape(code)}</h2>'
        f"{_intent_cards(intents)}</section>"
    )


def _intent_cards(intents):
    if not intents:
        return '<p class="empty">Sin cobro pendiente / No pending payment</p>'
    return "".join(_intent_card(intent) for intent in intents)


def _intent_card(intent):
    action = f"/_sim/intents/{html.escape(intent['id'])}"
    decline = intent["lastDecline"]
    declined = (
        f'<p class="declined">Declinada / Declined: {html.escape(decline["reason"])}</p>'
        if decline
        else ""
    )
    return f"""<div class="intent">
<p class="amount">{_format_mxn(intent["amount"])}</p>
<p>externalId: <code>{html.escape(intent["externalId"])}</code></p>
<p>Expira en / Expires in {_format_countdown(intent["expiresInSeconds"])}</p>
{declined}
{_action_button(f"{action}/approve", "approve", "Aprobar / Approve")}
{_action_button(f"{action}/decline", "decline", "Declinar / Decline")}
</div>"""


def _action_button(action, css_class, label):
    """A one-button form posting to the control API (which redirects back to the page)."""
    return (
        f'<form method="post" action="{action}"><button class="{css_class}">{label}</button></form>'
    )


def _finished_table(intents):
    if not intents:
        return '<p class="empty">Ninguno / None</p>'
    rows = "".join(
        f"<tr><td>{html.escape(intent['updatedAt'])}</td>"
        f"<td>{html.escape(intent['terminalCode'] or '-')}</td>"
        f"<td><code>{html.escape(intent['externalId'])}</code></td>"
        f"<td>{_format_mxn(intent['amount'])}</td>"
        f"<td>{html.escape(_finished_status(intent))}</td></tr>"
        for intent in intents
    )
    headers = ("Hora / Time", "Terminal", "externalId", "Monto / Amount", "Estado / Status")
    header = "".join(f"<th>{title}</th>" for title in headers)
    return f"<table><tr>{header}</tr>{rows}</table>"


def _finished_status(intent):
    if intent["expired"]:
        return "EXPIRED"
    summary = intent["paymentSummary"]
    if not summary:
        return intent["status"]
    card = summary["cardInformation"]
    return (
        f"{intent['status']} ({summary['status']}, {card['networkType']} {card['lastFourDigits']})"
    )


def _format_mxn(amount):
    return f"${amount:,.2f} MXN"


def _format_countdown(seconds):
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}:{rest:02d}"
