/**
 * The one stylesheet of the web pages, served at /static/switchyard.css (a
 * file of its own rather than inline styles, so the Content-Security-Policy
 * can forbid inline style and script). A constant rather than a file beside
 * dist/ so that the build needs no copy step.
 */
export const STYLESHEET_PATH = '/static/switchyard.css';

export const STYLESHEET = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #d8dce4; --bg: #f6f7f9; --card: #fff; --accent: #1f5fbf; --danger: #b3261e; --ok: #1e7b34; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #8ab4f8; outline-offset: 1px; }
header.site { background: #1d2330; color: #fff; padding: .6rem 1.2rem; display: flex; gap: 1.5rem; align-items: center; flex-wrap: wrap; }
header.site a { color: #fff; text-decoration: none; }
header.site .brand { font-weight: 700; letter-spacing: .02em; }
header.site nav { display: flex; gap: 1rem; flex-wrap: wrap; }
header.site .who { margin-left: auto; color: #c9cfdb; font-size: .9rem; }
main { max-width: 72rem; margin: 1.5rem auto; padding: 0 1.2rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .6rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.2rem; margin-bottom: 1rem; }
.muted { color: var(--muted); }
.flash { padding: .6rem 1rem; border-radius: 6px; margin-bottom: 1rem; border: 1px solid; }
.flash.ok { background: #e8f5ec; border-color: #9fd3ad; color: var(--ok); }
.flash.error { background: #fbeaea; border-color: #eba7a3; color: var(--danger); }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
form.inline { display: inline; }
label { display: block; font-weight: 600; margin: .6rem 0 .2rem; }
.hint { display: block; font-weight: 400; font-size: .85rem; color: var(--muted); }
input[type=text], input[type=email], input[type=number], input[type=search], select, textarea { font: inherit; padding: .4rem .5rem; border: 1px solid #b9c0cc; border-radius: 4px; width: 100%; max-width: 32rem; background: #fff; }
textarea { max-width: 100%; min-height: 6rem; }
button, .button { font: inherit; padding: .4rem .9rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--danger); border-color: var(--danger); }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: 1rem; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; }
.stat .value { font-size: 1.6rem; font-weight: 700; }
pre.message { white-space: pre-wrap; word-break: break-word; background: #fbfbfc; border: 1px solid var(--line); padding: .8rem; border-radius: 4px; max-height: 40rem; overflow: auto; }
.pager { display: flex; gap: 1rem; margin: 1rem 0; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
footer.site { max-width: 72rem; margin: 2rem auto; padding: 0 1.2rem; color: var(--muted); font-size: .85rem; }
/* public pages (src/http/public/) */
.lead { font-size: 1.15rem; color: var(--muted); margin: -.4rem 0 1.2rem; max-width: 48rem; }
.card.narrow { max-width: 40rem; }
.card h2 { margin-top: .2rem; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 1rem; align-items: start; }
.columns > .card { margin-bottom: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .45rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); font-size: .9rem; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
form.stack label:first-of-type { margin-top: 0; }
form.stack input { max-width: none; }
ul.list-index { list-style: none; padding: 0; margin: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: 1rem; }
ul.list-index li.card { margin: 0; }
ul.list-index p { margin: .4rem 0 0; }
a.list-title { font-weight: 700; font-size: 1.1rem; text-decoration: none; margin-right: .4rem; }
a.list-title:hover { text-decoration: underline; }
button.danger:hover { filter: brightness(.92); }
button:hover { filter: brightness(1.08); }
.card.narrow > :first-child, .columns > .card > :first-child { margin-top: 0; }
.card.narrow > :last-child, .columns > .card > :last-child { margin-bottom: 0; }
main:has(> .card.narrow) > .flash { max-width: 40rem; }
ul.list-index .muted { display: block; font-size: .9rem; }
/* web admin and archives (src/http/admin/, src/http/archive/) */
.breadcrumb { margin: -.5rem 0 .5rem; color: var(--muted); font-size: .9rem; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem; background: #e7ecf5; color: var(--accent); font-weight: 600; }
.badge.warn { background: #fdf0d8; color: #8a5300; }
.badge.ok { background: #e8f5ec; color: var(--ok); }
nav.tabs { display: flex; gap: .2rem; border-bottom: 2px solid var(--line); margin: 0 0 1.2rem; flex-wrap: wrap; }
nav.tabs a { padding: .5rem .9rem; text-decoration: none; color: var(--muted); border-bottom: 3px solid transparent; margin-bottom: -2px; font-weight: 600; }
nav.tabs a:hover { color: var(--fg); }
nav.tabs a[aria-current=page] { color: var(--accent); border-bottom-color: var(--accent); }
details.narrow { max-width: 40rem; }
details.card summary { cursor: pointer; font-weight: 600; }
.small { font-size: .85rem; }
.buttons { display: flex; gap: .5rem; flex-wrap: wrap; margin: .6rem 0 0; }
button.small-button, .small-button { padding: .15rem .6rem; font-size: .85rem; }
table { border: 1px solid var(--line); border-radius: 6px; }
tbody tr:hover { background: #f9fafc; }
table.headers { border: 0; background: transparent; width: auto; }
table.headers th { text-transform: none; letter-spacing: 0; font-size: .9rem; width: 9rem; padding: .2rem .6rem .2rem 0; border: 0; }
table.headers td { border: 0; padding: .2rem 0; word-break: break-word; }
table.narrow-table { width: auto; min-width: 20rem; }
form.toolbar { display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; margin-bottom: 1rem; }
form.toolbar input, form.toolbar select { width: auto; }
label.inline-label { display: inline; margin: 0; }
progress { width: 100%; max-width: 32rem; height: 1.2rem; }
.columns h2 { margin-top: 0; }
.settings { display: flex; gap: 1.2rem; align-items: flex-start; }
.settings nav.side ul { list-style: none; margin: 0; padding: 0; min-width: 13rem; }
.settings nav.side a { display: block; padding: .4rem .7rem; border-radius: 4px; text-decoration: none; color: var(--fg); }
.settings nav.side a[aria-current=page] { background: var(--accent); color: #fff; }
.settings .grow { flex: 1; }
.settings h2 { margin-top: 0; }
.field { padding: .5rem 0; border-bottom: 1px solid #eef0f4; }
.field.invalid input, .field.invalid select, .field.invalid textarea { border-color: var(--danger); }
.field-error { color: var(--danger); margin: .3rem 0 0; font-weight: 600; }
.message .headers { margin-bottom: .6rem; }
.message-nav p { margin: .2rem 0; }
ul.thread-tree { list-style: none; padding: 0; margin: 0; }
ul.thread-tree li { padding: .25rem 0; border-bottom: 1px solid #f0f1f4; }
ul.thread-tree li:last-child { border-bottom: 0; }
.depth-1 { padding-left: 1.2rem !important; } .depth-2 { padding-left: 2.4rem !important; } .depth-3 { padding-left: 3.6rem !important; } .depth-4 { padding-left: 4.8rem !important; }
.depth-5, .depth-6, .depth-7, .depth-8 { padding-left: 6rem !important; }
section.thread h2 { margin: 0 0 .2rem; font-size: 1.1rem; }
section.thread h2 a { text-decoration: none; }
ul.attachments { padding-left: 1.2rem; }
input[type=password] { font: inherit; padding: .4rem .5rem; border: 1px solid #b9c0cc; border-radius: 4px; width: 100%; max-width: 32rem; background: #fff; }
.stat .value a { text-decoration: none; }
.card > p:first-child, .card > form:first-child > p:first-child { margin-top: 0; }
.card > p:last-child { margin-bottom: 0; }
nav.message-nav { font-size: .9rem; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1rem; margin-bottom: 1rem; }
@media (max-width: 50rem) { .settings { flex-direction: column; } }
`;
