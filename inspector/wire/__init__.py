"""The wire formats of LLM APIs, one module each, whatever container recorded them (llama-stack
recordings, VCR cassettes). Pure Python: knows nothing of Django.

- `types`: what a parsed exchange is (Recording, Message, ToolCall, Usage...); `common`,
  `content`: JSON, text, usage, times, content parts; `assembly`: deltas put together.
- One module per API: `openai_chat`, `responses`, `anthropic`, `gemini`, `ollama`, `bedrock`;
  `streams` (chunk streams) and `sse` (event streams) read streams with them.
- `reading`: request bodies and single responses handed to the APIs whose fields they hold;
  `http`: one raw provider HTTP exchange (a cassette's) to a Recording."""
