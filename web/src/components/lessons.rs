//! The Lessons tab and the lesson bar over the tab a lesson is done in.
//!
//! The app root holds which lesson is open, the progress and a pending
//! **Set it up**, and shares them as a [`LessonHub`] context. The tab a
//! setup is for applies it once ([`LessonHub::take_setup`]) and draws the
//! bar ([`bar`]) from its own state: the checks
//! (`model::lesson_checks`) read exactly what that tab shows.
//! Plain functions, not components, and text for the static markup:
//! each component type and `html!` tree costs the page's size budget.

use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};

use wasm_bindgen::{JsCast, JsValue};
use yew::prelude::*;

use crate::model::lessons::{source, verdict, Evidence, Place, Progress, Setup, LESSONS};

/// The `localStorage` key of the progress.
const STORAGE_KEY: &str = "wirelab.lessons";

/// What the lessons' parts tell the app root.
#[derive(Debug, Clone, PartialEq)]
pub enum LessonMsg {
    /// Show lesson `n` (0-based) in the Lessons tab.
    Open(usize),
    /// **Set it up** was pressed on lesson `n`.
    SetUp(usize),
    /// A tab applied the setup: its session key at that moment.
    Applied(Place, u32),
    /// A part of lesson `n` passed (`turn`: the Your turn part).
    Passed { lesson: usize, turn: bool },
    /// Hide the lesson bar.
    Close,
}

/// The lessons' state, held by the app root.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lessons {
    pub open: Option<usize>,
    /// The last **Set it up**: which lesson, and a number that grows.
    pub pending: Option<(usize, u32)>,
    /// The tab and its session key when the setup was applied.
    pub baseline: Option<(Place, u32)>,
    pub progress: Progress,
}

impl Lessons {
    /// With the progress kept in this browser and the lesson a link opens.
    pub fn load(open: Option<usize>) -> Lessons {
        Lessons {
            open,
            progress: Progress::from_text(&storage("getItem", None).unwrap_or_default()),
            ..Lessons::default()
        }
    }
}

impl Reducible for Lessons {
    type Action = LessonMsg;

    fn reduce(self: Rc<Self>, msg: LessonMsg) -> Rc<Self> {
        if let LessonMsg::Passed { lesson, turn } = msg {
            let mut progress = self.progress;
            progress.pass(lesson, turn);
            if progress == self.progress {
                // Passing again changes nothing: no new state, no redraw.
                return self;
            }
        }
        let mut l = Rc::unwrap_or_clone(self);
        match msg {
            LessonMsg::Open(n) => l.open = Some(n),
            LessonMsg::SetUp(n) => {
                l.open = Some(n);
                l.pending = Some((n, l.pending.map_or(1, |(_, k)| k + 1)));
                l.baseline = None;
            }
            LessonMsg::Applied(place, key) => l.baseline = Some((place, key)),
            LessonMsg::Passed { lesson, turn } => {
                l.progress.pass(lesson, turn);
                storage("setItem", Some(&l.progress.to_text()));
            }
            LessonMsg::Close => l.open = None,
        }
        Rc::new(l)
    }
}

/// `localStorage.getItem(KEY)` or `setItem(KEY, value)`, through js_sys
/// (no web-sys feature for one key); `None` where storage is off.
fn storage(method: &str, value: Option<&str>) -> Option<String> {
    let window = web_sys::window()?;
    let store = js_sys::Reflect::get(&window, &"localStorage".into()).ok()?;
    let call: js_sys::Function = js_sys::Reflect::get(&store, &method.into())
        .ok()?
        .dyn_into()
        .ok()?;
    let key = JsValue::from_str(STORAGE_KEY);
    let out = match value {
        Some(v) => call.call2(&store, &key, &v.into()),
        None => call.call1(&store, &key),
    };
    out.ok()?.as_string()
}

/// The last setup number applied, so that a tab mounted again does not
/// apply it twice (one page, one thread).
static APPLIED: AtomicU32 = AtomicU32::new(0);

/// The lessons as every tab sees them.
#[derive(Clone, PartialEq)]
pub struct LessonHub {
    pub lessons: Rc<Lessons>,
    pub on: Callback<LessonMsg>,
}

impl LessonHub {
    /// The pending setup, if it is for `place` and not applied yet; marks it
    /// applied. Tabs call it as they render (no effect hook: each costs the
    /// page's size budget), so a setup is applied on the render that shows it.
    pub fn take_setup(&self, place: Place) -> Option<Setup> {
        let (n, k) = self.lessons.pending?;
        let setup = LESSONS[n].setup;
        (setup.place() == place && APPLIED.load(Ordering::Relaxed) < k).then(|| {
            APPLIED.store(k, Ordering::Relaxed);
            setup
        })
    }
}

/// Text for HTML: lesson texts and check results hold no markup.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;")
}

/// Markup made as text: the lessons' static parts are strings, not
/// `html!` trees, whose code would cost the page's size budget many
/// times more. Only what reacts (the buttons) is a yew element.
fn raw(markup: String) -> Html {
    Html::from_html_unchecked(markup.into())
}

/// One part's status: **Done** and what was seen, or what is missing.
fn status(id: &str, verdict: &Result<String, String>) -> String {
    let (word, class, text) = match verdict {
        Ok(seen) => ("Done", "lesson-done", seen),
        Err(missing) => ("Not yet", "", missing),
    };
    format!(
        r#"<p class="lesson-status" id="{id}" role="status"><strong class="{class}">{word}</strong>: {}</p>"#,
        esc(text)
    )
}

/// The bar over a tab while a lesson is open: its two checks, judged on
/// `evidence` (that tab's state). A part that passes is recorded as the
/// bar renders (the reducer ignores a pass it already has).
pub fn bar(hub: &Option<LessonHub>, evidence: &Evidence) -> Html {
    let Some(hub) = hub else {
        return Html::default();
    };
    let Some(n) = hub.lessons.open else {
        return Html::default();
    };
    let lesson = &LESSONS[n];
    let baseline = hub.lessons.baseline;
    let check = verdict(lesson.check, evidence, baseline);
    let turn = verdict(lesson.turn_check, evidence, baseline);
    let progress = hub.lessons.progress;
    for (ok, turn, done) in [
        (check.is_ok(), false, progress.checked),
        (turn.is_ok(), true, progress.turned),
    ] {
        if ok && done & (1 << n) == 0 {
            hub.on.emit(LessonMsg::Passed { lesson: n, turn });
        }
    }
    let body = format!(
        r##"<div><a href="#lesson={k}">Lesson {k} · {}</a><p>{}</p>{}<p><strong>Your turn: </strong>{}</p>{}</div>"##,
        esc(lesson.title),
        esc(lesson.action),
        status("lesson-check", &check),
        esc(lesson.turn),
        status("lesson-turn", &turn),
        k = n + 1,
    );
    html! {
        <aside class="lesson-bar" id="lesson-bar" aria-label="lesson">
            <button type="button" class="small" id="lesson-close" onclick={hub.on.reform(|_| LessonMsg::Close)} aria-label="hide the lesson">{ "×" }</button>
            { raw(body) }
        </aside>
    }
}

/// The Lessons tab: the twelve, and the open one.
pub fn page(hub: &LessonHub) -> Html {
    let lessons = &hub.lessons;
    let progress = lessons.progress;
    let open = lessons.open.unwrap_or(0);
    let mut list = String::from(
        r#"<nav class="panel lesson-list" aria-labelledby="lessons-h"><h2 id="lessons-h">Lessons</h2><ol>"#,
    );
    for (i, l) in LESSONS.iter().enumerate() {
        let mark = if progress.done(i) {
            " ✓ both parts done"
        } else if progress.checked & (1 << i) != 0 {
            " ✓ set-up check done"
        } else {
            ""
        };
        let on = if i == open { " class=\"on\"" } else { "" };
        list += &format!(
            r##"<li{on}><a href="#lesson={}">{}</a><span class="lesson-mark">{mark}</span></li>"##,
            i + 1,
            esc(l.title)
        );
    }
    list += "</ol></nav>";
    let lesson = &LESSONS[open];
    let head = format!(
        r#"<div><h2 id="lesson-h">Lesson {} · {}</h2><p class="lesson-source">From the tutorial: <cite>{}</cite></p><p>{}</p><p class="hint">{}</p></div>"#,
        open + 1,
        esc(lesson.title),
        esc(&source(lesson.section)),
        esc(lesson.text),
        esc(lesson.action)
    );
    let tail = format!(
        r#"<div><h3>Your turn</h3><p id="lesson-task">{}</p><p class="hint">Set it up puts the lesson's message, target, segment size and delay in place, in the tab it is done in. Each part is checked live against what the relay observes: Done when it passes, and what is missing when it does not.</p></div>"#,
        esc(lesson.turn)
    );
    html! {
        <main class="lessons" id="lessons">
            { raw(list) }
            <article class="panel lesson" id="lesson" aria-labelledby="lesson-h">
                { raw(head) }
                <button type="button" class="primary" id="lesson-setup" onclick={hub.on.reform(move |_| LessonMsg::SetUp(open))}>{ "Set it up" }</button>
                { raw(tail) }
            </article>
        </main>
    }
}
