//! Encode, step by step: content bytes → JSON header → 2-byte length → frame,
//! with Previous/Next and a play mode.

use gloo_timers::callback::Timeout;
use protocol::hexdump::hex_string;
use yew::prelude::*;

use crate::model::{Composed, EncodeStep, StepMove, LAST_STEP};

/// Pause between steps in play mode.
pub const PLAY_STEP_MS: u32 = 1400;
/// Bytes of a step shown inline; the hex view shows them all.
const PREVIEW_BYTES: usize = 24;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub steps: Vec<EncodeStep>,
    pub step: usize,
    pub playing: bool,
    /// The frame, to preview each step's bytes.
    pub bytes: std::rc::Rc<Composed>,
    /// Previous, Next, a step's title, Play/Pause, and the play timer.
    pub on_step: Callback<StepMove>,
}

#[component]
pub fn EncodeSteps(props: &Props) -> Html {
    {
        let on_step = props.on_step.clone();
        use_effect_with((props.playing, props.step), move |(playing, _)| {
            let timer =
                playing.then(|| Timeout::new(PLAY_STEP_MS, move || on_step.emit(StepMove::Next)));
            move || drop(timer)
        });
    }
    if props.steps.is_empty() {
        return html! {
            <p class="hint" id="steps-none">{ match props.bytes.bytes.len() {
                0 => "No bytes to step through: see the error under Compose.".to_owned(),
                n => format!("{n} byte: fewer than the 2-byte length prefix, so there is nothing to step through."),
            } }</p>
        };
    }
    let on_step = &props.on_step;
    let bytes = &props.bytes.bytes;
    let items = props.steps.iter().enumerate().map(|(i, step)| {
        let current = i == props.step;
        let on_step = on_step.clone();
        let range = step.range.clone();
        let shown = &bytes[range.start..range.end.min(range.start + PREVIEW_BYTES)];
        let more = range.len().saturating_sub(PREVIEW_BYTES);
        html! {
            <li class={classes!("step", current.then_some("current"), (i < props.step).then_some("done"))}
                aria-current={current.then_some("step")}>
                <button type="button" class="step-title" onclick={move |_| on_step.emit(StepMove::To(i))}>
                    { format!("{}. {}", i + 1, step.title) }
                    <span class="count">{ format!("{} B", range.len()) }</span>
                </button>
                if current {
                    <p class="step-line" id="step-line">{ &step.line }</p>
                    <code class="mono preview">{ hex_string(shown) }{ (more > 0).then(|| format!(" … +{more} bytes")) }</code>
                }
            </li>
        }
    });
    let emit = |step: StepMove| on_step.reform(move |_: MouseEvent| step);
    html! {
        <div class="encode-steps">
            <ol>{ for items }</ol>
            <div class="buttons">
                // aria-disabled, not disabled: a disabled button drops the
                // keyboard focus to the page's start at the first or last step.
                <button type="button" id="step-prev" onclick={emit(StepMove::Prev)} aria-disabled={(props.step == 0).to_string()}>{ "◀ Previous" }</button>
                <button type="button" id="step-next" onclick={emit(StepMove::Next)} aria-disabled={(props.step >= LAST_STEP).to_string()}>{ "Next ▶" }</button>
                <button type="button" id="step-play" onclick={emit(StepMove::TogglePlay)} aria-pressed={props.playing.to_string()}>
                    { if props.playing { "❚❚ Pause" } else { "▶ Play from the start" } }
                </button>
            </div>
        </div>
    }
}
