"""Jinja chat templates the engine ships with its tokenizers.

`CHATML_TEMPLATE` is nano DIO's: plain ChatML, no `<think>` injection. An assistant
message with a non-empty `reasoning_content` gets `<think>\\n...\\n</think>\\n\\n` in
front of its content (nothing otherwise). `engine.chat` renders the same text in
Python and a test checks the two agree.
"""

from __future__ import annotations

CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' }}"
    "{%- if message.role == 'assistant' and message.reasoning_content is defined"
    " and message.reasoning_content is not none and message.reasoning_content.strip('\\n') %}"
    "{{- '<think>\\n' + message.reasoning_content.strip('\\n') + '\\n</think>\\n\\n' }}"
    "{%- endif %}"
    "{{- message.content + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
