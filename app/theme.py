"""The look shared by every page (student, teacher, admin): system fonts only, so no page asks
another site for anything and the app works with no internet."""

from __future__ import annotations

import gradio as gr

_SANS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
_MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]

THEME = gr.themes.Soft(font=_SANS, font_mono=_MONO)

CSS = """
pre.mt-code, pre.mt-output { white-space: pre-wrap; word-break: break-word; padding: .5em .7em;
  border-radius: 6px; font-size: .9em; margin: .3em 0; }
pre.mt-code { background: #f3f5f8; border-left: 3px solid #5b7fd6; }
pre.mt-output { background: #f7f7f2; border-left: 3px solid #8aa05a; }
pre.mt-output.mt-error { border-left-color: #c0483d; background: #fbf1f0; }
#mt-status p { color: #5b6472; font-style: italic; margin: 0; }
#mt-verdict { min-height: 2.5em; }
#mt-header { align-items: center; }
.mt-user { text-align: right; }
.mt-logout { display: inline; margin-left: .8em; }
.mt-logout button { border: 1px solid #c8ccd2; border-radius: 6px; padding: .2em .7em; background: #fff;
  cursor: pointer; }
"""
