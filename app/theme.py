"""The look shared by every page (student, teacher, admin): system fonts only, so no page asks
another site for anything and the app works with no internet. Colours meet WCAG 2 AA contrast (4.5:1
for text): Soft's indigo-500 labels and buttons do not, so they use the darker shades."""

from __future__ import annotations

import gradio as gr

_SANS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
_MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]

THEME = gr.themes.Soft(font=_SANS, font_mono=_MONO).set(
    block_label_text_color="*primary_800", block_title_text_color="*primary_800",
    block_info_text_color="*neutral_600", body_text_color_subdued="*neutral_600",
    input_placeholder_color="*neutral_500",
    button_primary_background_fill="*primary_700", button_primary_background_fill_hover="*primary_800",
    checkbox_label_background_fill_selected="*primary_700", checkbox_background_color_selected="*primary_700",
    checkbox_label_text_color_selected="white",
    link_text_color="*primary_700", link_text_color_visited="*primary_800",
)

CSS = """
pre.mt-code, pre.mt-output { white-space: pre-wrap; word-break: break-word; padding: .5em .7em;
  border-radius: 6px; font-size: .9em; margin: .3em 0; }
pre.mt-code { background: #f3f5f8; border-left: 3px solid #5b7fd6; }
pre.mt-output { background: #f7f7f2; border-left: 3px solid #8aa05a; }
pre.mt-output.mt-error { border-left-color: #c0483d; background: #fbf1f0; }
#mt-status p { color: #4b5563; font-style: italic; margin: 0; }
/* long values (database URLs, errors) wrap instead of making a region that scrolls sideways */
#ad-status, #ad-status *, #tt-facts, #tt-facts * { overflow-wrap: anywhere; }
button[role=tab].selected { color: #3730a3 !important; }
#mt-header, #tt-header, #ad-header { align-items: center; }
.mt-user { text-align: right; }
.mt-logout { display: inline; margin-left: .8em; }
.mt-logout button { border: 1px solid #6b7280; border-radius: 6px; padding: .2em .7em; background: #fff;
  color: #111827; cursor: pointer; }
.mt-logout button:focus-visible, a:focus-visible { outline: 3px solid #3730a3; outline-offset: 2px; }
/* Gradio's chat "clear" (trash) button empties the chat on screen only, until the next action
   redraws it: the conversation is the record, so it is not offered. */
#mt-chat button[aria-label="Clear"], #tt-transcript button[aria-label="Clear"] { display: none !important; }
/* a radio whose value the page sets (the mode, when a session is reopened) shows its new colours at once:
   Gradio fades them in, and halfway through the fade the label's text fails AA contrast */
#mt-mode label, #mt-mode label * { transition: none !important; }
#mt-verdict { border-left: 4px solid #3730a3; padding: .2em .8em; background: #fff; }
/* an empty preview or verdict takes no room */
#mt-verdict:has(span.md:empty), #mt-preview:has(span.md:empty), #mt-qpreview:has(span.md:empty),
#mt-msg-preview:has(span.md:empty) { display: none; }
#mt-preview, #mt-qpreview { min-height: 1.6em; color: #111827; }
.mt-muted p, .mt-muted { color: #4b5563; font-size: .92em; }
/* Tables that fit: one line per cell, cut with an ellipsis; the full text is in the row's title and
   in the panel a click opens. Headers never break inside a word, also in a table that wraps its cells
   because they must be read whole (the practice preview a teacher approves). */
.mt-table th, .mt-table th *, .mt-wrap-table th, .mt-wrap-table th * { word-break: keep-all !important; overflow-wrap: normal !important;
  hyphens: none; white-space: nowrap; }
.mt-table td .cell-wrap, .mt-table td span { max-width: 28ch; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; display: inline-block; vertical-align: bottom; }
/* Phones: the conversation first, the sidebar (new problem, history) after it. */
@media (max-width: 720px) {
  #mt-main { order: 1; }
  #mt-side { order: 2; }
  #mt-body { flex-wrap: wrap; }
  #mt-body > * { min-width: 100% !important; }
  #mt-chat { height: 52vh !important; max-height: 52vh; }
  #mt-header h2 { font-size: 1.2em; margin: 0; }
  .mt-user { text-align: left; font-size: .9em; }
}
"""
