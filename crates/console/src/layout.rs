//! The page shell: head, the style sheet (served at [`crate::protection::STYLESHEET`]: the
//! Content-Security-Policy allows no inline style), the header with the signed-in user and sign-out.

use maud::{DOCTYPE, Markup, html};
use railyard_service::SessionInfo;

pub(crate) const STYLE: &str = r#"
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;
 padding:.6rem 1rem;background:#1f3a5f;color:#fff}
header a{color:#fff;font-weight:600;text-decoration:none}
header form{display:inline}
main{max-width:1200px;margin:0 auto;padding:1rem}
section{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.5rem 1rem 1rem;margin:0 0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin:.6rem 0}h3{font-size:1rem;margin:.8rem 0 .3rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:1rem}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e5e8ec;vertical-align:top}
.state{display:inline-block;padding:0 .4rem;border-radius:4px;background:#e8edf3;font-size:.85rem}
.bad{background:#fde2e1;color:#8a1c14}.good{background:#dff3e4;color:#14532d}
.halted{background:#8a1c14;color:#fff;padding:.6rem 1rem;border-radius:6px}
.running{background:#dff3e4;padding:.6rem 1rem;border-radius:6px}
.waiting{border-left:4px solid #8a1c14;padding:.4rem .8rem;background:#fde2e1;font-weight:600}
form.action{display:flex;flex-wrap:wrap;gap:.4rem;align-items:end;margin:.3rem 0}
label{display:flex;flex-direction:column;font-size:.9rem}
label:has(>input[type=checkbox]),label:has(>input[type=radio]){flex-direction:row;align-items:center;gap:.4rem}
input,select,button,textarea{font:inherit;padding:.3rem .5rem;max-width:100%}
label,form.action>*{max-width:100%;min-width:0}
button{cursor:pointer;border:1px solid #1f3a5f;background:#1f3a5f;color:#fff;border-radius:4px}
button.secondary{background:#fff;color:#1f3a5f}
ol.stages{display:flex;flex-wrap:wrap;gap:.3rem;list-style:none;padding:0}
svg.gantt{max-width:100%;height:auto;border:1px solid #ddd;background:#fff}
p.hint{color:#555;font-size:.9em}
ol.stages li{padding:.2rem .6rem;border-radius:4px;background:#e8edf3}
ol.stages li[aria-current]{background:#1f3a5f;color:#fff}
.board{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:.6rem}
.board>div{background:#f6f7f9;border:1px solid #d8dde3;border-radius:6px;padding:.4rem .6rem}
.board ul{list-style:none;padding:0;margin:0}.board li{background:#fff;border:1px solid #e5e8ec;border-radius:4px;padding:.3rem .5rem;margin:.3rem 0}
header nav{display:flex;flex-wrap:wrap;gap:.3rem 1rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.facts dd{margin:0}
table.inventory td{min-width:10rem}table.inventory th[scope=row]{white-space:nowrap}
table.calendar td{min-width:7.5rem}table.calendar td.outside{background:#f3f4f6;color:#666}
[aria-current=date]{background:#eef4fb}
ul.entries{list-style:none;padding:0;margin:0}ul.entries>li{margin:.2rem 0;padding:.2rem .3rem;border-radius:4px;font-size:.85rem;background:#e8edf3}
ul.entries>li.maintenance{background:#fff3cd}ul.entries>li.blackout{background:#2b2b2b;color:#fff}
ul.entries>li.blackout a{color:#fff}ul.entries>li.reservation{background:#e0ecff}
ul.entries>li.deployment{background:#dff3e4}ul.entries>li.conflict{outline:3px solid #c0261a}
ul.entries>li.mark{background:#f1e8fb;border-left:4px solid #6a3fa0}ul.entries>li.production-date,ul.entries>li.production-deployment{background:#fdeaea;border-left:4px solid #b3261e}
table.audit code,section code{word-break:break-all;font-size:.85rem}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
[role=alert]{border-left:4px solid #8a1c14;padding:.3rem .8rem;background:#fde2e1}
.fields-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.4rem 1rem;align-items:end}
.button-row{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}
dl.data{display:grid;grid-template-columns:max-content 1fr;gap:0 .6rem;margin:0;font-size:.85rem}dl.data dd{margin:0;min-width:0}
dl.data dt{color:#555}dl.data dl.data,dl.data ol.data,ol.data dl.data{padding-left:.8rem;border-left:2px solid #e5e8ec}
ol.data{margin:0;padding-left:1.2rem;font-size:.85rem}span.value{word-break:break-word}details.value summary{cursor:pointer}
details.edit{margin:.3rem 0}details.edit>summary{cursor:pointer}details.edit>summary>h2{display:inline}
"#;

/// Whether the signed-in person manages users, as the domain's global actions say: the navigation then
/// links the users page.
fn manages_users(session: &SessionInfo) -> bool {
    railyard_domain::AvailableAction::allows(&railyard_domain::global_actions(&session.actor), "manage_users")
}

/// A whole page. `session` adds the header with who is signed in and the sign-out button.
pub fn page(title: &str, session: Option<&SessionInfo>, body: Markup) -> Markup {
    page_refreshing(title, session, body, None)
}

/// A whole page that reloads itself every `refresh` seconds (when given): live progress by polling,
/// with a `<meta http-equiv="refresh">` and no script, so it works without JavaScript.
pub fn page_refreshing(title: &str, session: Option<&SessionInfo>, body: Markup, refresh: Option<u32>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(secs) = refresh { meta http-equiv="refresh" content=(secs); }
                title { (title) " · Railyard" }
                link rel="stylesheet" href=(crate::protection::STYLESHEET);
            }
            body {
                header {
                    a href="/" { "Railyard" }
                    nav aria-label="Pages" {
                        a href="/" { "Dashboard" } " "
                        a href="/inventory" { "Inventory" } " "
                        a href="/trains" { "Trains" } " "
                        a href="/applications" { "Applications" } " "
                        a href="/environments" { "Environments" } " "
                        a href="/turnovers" { "Turnovers" } " "
                        a href="/paths" { "Paths" } " "
                        a href="/variables" { "Variables" } " "
                        a href="/runners" { "Runners" } " "
                        a href="/calendar" { "Calendar" } " "
                        a href="/audit" { "Audit log" }
                        @if session.is_some_and(manages_users) { " " a href="/users" { "Users" } }
                    }
                    @if let Some(s) = session {
                        span {
                            "Signed in as " a href={ "/users/" (s.actor.name) } title="Your roles and API tokens" { strong { (s.actor.name) } } " "
                            form.sign-out method="post" action="/sign-out" {
                                (crate::forms::csrf_field(s))
                                button.secondary type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}
