// The scenario every JS client test starts from: one set of rules answers all surfaces.

export const SCENARIO = `
name: js-clients
seed: 7

models:
  openai/gpt-5.5: {}
  anthropic/claude-sonnet-4-6: {}
  gemini/gemini-2.5-flash: {}
  openai/text-embedding-3-small: {}
  gemini/gemini-embedding-001: {}
  openai/gpt-dead:
    error: {status: 503, message: "The upstream provider for openai/gpt-dead is unavailable."}

rules:
  - name: weather
    match: {message: weather, tools: [get_weather]}
    reply:
      tool_calls:
        - name: get_weather
          arguments: {city: Paris}

  - name: after weather
    match: {tool_result: get_weather}
    reply:
      text: "It is {{ tool_result }} in Paris."

  - name: structured
    match: {json_schema: true}
    reply:
      json: {name: Ada Lovelace, age: 36, languages: [English, French]}

  - name: forbidden
    match: {message: forbidden}
    reply:
      error: {status: 403, message: You shall not pass}

  - name: rate limited
    match: {message: slow down}
    replies:
      - error: {status: 429, message: "Too many requests for {{ request.model }}", retry_after: 0.01}
      - text: Made it through.

  - name: broken stream
    match: {message: broken}
    reply:
      text: one two three four five six
      fault: {error_after: 2, error: {status: 500, message: The model lost its train of thought.}}

  - name: dropped stream
    match: {message: drop}
    reply:
      text: one two three four five six
      fault: {disconnect_after: 2}

  - name: truncated stream
    match: {message: truncate}
    reply:
      text: one two three four five six
      fault: {truncate_after: 2}

  - name: thinking
    match: {message: think}
    reply:
      reasoning: Six times seven is forty-two.
      text: The answer is 42.

  - name: echo
    match: {message: {startswith: echo}}
    reply:
      text: "{{ request.message }} from {{ request.model }} for team {{ request.tags.team | default('none') }}"

  - name: story
    match: {message: story}
    reply:
      text: Once upon a time a mock answered every call the same way.

  - name: hello
    reply:
      text: Hello from mockopper!
`;

export const WEATHER = 'What is the weather in Paris?';

export const TEXT = {
  hello: 'Hello from mockopper!',
  story: 'Once upon a time a mock answered every call the same way.',
  broken: 'The model lost its train of thought.',
  person: { name: 'Ada Lovelace', age: 36, languages: ['English', 'French'] },
};

/** Cosine of two vectors. */
export function cosine(a, b) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}
