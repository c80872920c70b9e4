#!/usr/bin/env python3
"""Reference ids for tqlib's Qwen tokenizer, from Hugging Face `tokenizers` (and `transformers`
for the chat template).

usage: make_tokenizer_fixtures.py --tokenizer-json PATH/tokenizer.json \
           --folder models/qwen2.5-tokenizer --out tests/tokenizer/fixtures/qwen2.5_ids.json
(tokenizer.json is not committed: copy ../shared/qwen2.5-tokenizer/tokenizer.json to an ignored
folder such as build-tok/hf/ and name that folder in the device run's `carry`.)

Writes {"versions", "encode": [{text, ids, decoded}], "decode": [{ids, skip_special, text}],
"chat": [{messages, add_generation_prompt, text, ids}], "bulk": {...}} where "bulk" names a
long text built from the encode strings and the FNV-1a hash of its ids (checked by the C++ test
without storing the ids).
"""
import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time


def handmade_strings():
    s = [
        "", " ", "  ", "\n", "\t", "a", "Hello", "Hello world", "Hello, world!", " Hello", "hello  world",
        "The quick brown fox jumps over the lazy dog.",
        "I'm", "I'M", "DON'T", "don't", "You're", "YOU'RE", "we've", "WE'VE", "she'll", "SHE'LL", "he'd", "HE'D",
        "it's", "IT'S", "it'S", "It'sn't", "'s", "'S", "'re'", "''s", "rock'n'roll", "'ſ", "'K", "'İ", "'ll'll'll",
        "x = 1\ny = 2\n", "def f(a, b):\n    return a + b\n", "if (x) {\n\treturn y;\n}\n",
        "int main() { printf(\"%d\\n\", 42); }", "for i in range(10):\n\tprint(i)  # comment\n",
        "    indented\n        more\n", "a\r\nb\r\n", "a\rb", "\r\n\r\n", "line1\n\n\nline2", "trailing   ",
        "trailing\n", "trailing \n ", "  leading", "\t\tTabs\tand spaces \t ", "a \n b", "a  \n\n  b",
        ".\n\n", "!!!\n", "...", "?!?!", " ...", " .\n", "--- ***", "a.b.c", "e.g.", "<html><body>x</body></html>",
        "https://example.com/path?q=1&r=2#frag", "user@example.com", "C:\\Windows\\System32",
        "0", "1", "12", "123", "1234", "12345678901234567890", "3.14159", "-42", "1,000,000", "2024-01-01",
        "v1.2.3", "0x1F", "1e-10", "٣٤٥", "²³", "Ⅻ", "½", "①②③", "１２３",
        "你好", "你好，世界！", "我爱自然语言处理。", "日本語のテキストです。", "カタカナ", "한국어 텍스트",
        "مرحبا بالعالم", "السلام عليكم", "שלום עולם", "Привет, мир!", "Ελληνικά", "नमस्ते दुनिया", "क्षत्रिय",
        "हिन्दी में लिखा गया पाठ", "สวัสดีชาวโลก", "ภาษาไทย", "Tiếng Việt có dấu", "ქართული", "Հայերեն",
        "😀", "😀😀😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵🇺🇸", "❤️", "I ❤️ you", "emoji😀in😀text", " 😀",
        "\u00e9", "e\u0301", "caf\u00e9", "cafe\u0301", "Cafe\u0301 au lait", "\u00c5", "A\u030a", "\u212b",
        "o\u0308\u0304", "\u1100\u1161\u11a8", "ﬁ", "\u0958", "\u2126",
        "a\u00a0b", "a\u2003b", "a\u3000b", "a\u2028b", "a\u2029b", "a\u0085b", "a\x0bb", "a\x0cb", "a\u200bb",
        "a\u180eb", " \u00a0 x", "\u3000\u3000x",
        "\x00", "a\x00b", "\x01\x02", "\x7f", "\u200d", "\ufeffBOM", "\ufffd",
        "<|im_start|>user\nhi<|im_end|>\n", "<|im_start|>", "<|im_end|>", "<|endoftext|>",
        "text<|endoftext|>more", "<|im_start|><|im_end|>", "<|im_", "<|im_start|", "<<|im_start|>>",
        " <|im_end|> ", "<tool_call>\n{}\n</tool_call>", "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>",
        "<|vision_start|><|image_pad|><|vision_end|>", "<|IM_START|>", "<|endoftext|><|endoftext|>",
        "supercalifragilisticexpialidocious", "Pneumonoultramicroscopicsilicovolcanoconiosis",
        "a" * 300, "ab" * 200, "1" * 100, " " * 50, "\n" * 20, "😀" * 40, "中" * 100, "-" * 80, "=" * 64,
        "HelloWorldCamelCase", "snake_case_name", "SCREAMING_CASE", "mixedCASEwords", "MiXeD CaSe",
        "Ünïcödé", "straße", "STRASSE", "İstanbul", "ǅ", "ﬀ",
        "$100", "€50", "£", "¥1000", "50%", "#hashtag", "@mention", "&amp;", "a->b", "a=>b", "x!=y", "a<=b",
        "(parenthesized)", "[bracketed]", "{braced}", "\"quoted\"", "'single'", "`code`", "«guillemets»",
        "“smart quotes”", "‘single’", "—em dash—", "…", "•bullet",
    ]
    s.append("The Transformer architecture, introduced in 2017, relies on self-attention. " * 8)
    s.append("".join(chr(c) for c in range(32, 127)))
    s.append("".join(chr(c) for c in range(0xa0, 0x180)))
    return s


POOLS = {
    "en": ["the", "The", "quick", "brown", "fox", "DON'T", "I'm", "you're", "it's", "Hello", "world", "a", "I"],
    "code": ["x", "=", "==", "(", ")", "{", "}", ";", "def", "return", "++", "->", "::", "0x", "//", "/*", "*/"],
    "num": ["0", "7", "42", "123", "2024", "3.14", "1,000", "٣", "²", "Ⅻ", "½", "１"],
    "cjk": ["你好", "世界", "中文", "日本語", "テキスト", "한국어", "字"],
    "rtl": ["مرحبا", "بالعالم", "שלום", "עולם"],
    "indic": ["नमस्ते", "दुनिया", "क्षत्रिय", "हिन्दी", "ಕನ್ನಡ", "தமிழ்"],
    "thai": ["สวัสดี", "ชาวโลก", "ภาษาไทย"],
    "emoji": ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵", "❤️", "🎉"],
    "accent": ["café", "cafe\u0301", "naïve", "e\u0301", "Å", "A\u030a", "ſ", "ß"],
    "punct": [".", ",", "!", "?", "...", "'", "\"", "-", "—", "…", "'s", "'S", "'ll", "'RE"],
    "special": ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_", "|>"],
}
SEPARATORS = [" ", " ", " ", " ", "", "", "  ", "   ", "\n", "\n\n", "\t", " \n", "\r\n", " \t ", "\u00a0", "\u3000",
              "\u2028", "\x0b", "\n  ", "  \n", "\u0085"]


def random_strings(n, seed):
    rng = random.Random(seed)
    keys = sorted(POOLS)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 14)):
            parts.append(rng.choice(POOLS[rng.choice(keys)]))
            parts.append(rng.choice(SEPARATORS))
        if rng.random() < 0.5:
            parts.pop()
        out.append("".join(parts))
    return out


CHATS = [
    ([{"role": "user", "content": "Hello!"}], True),
    ([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "2+2?"}], True),
    ([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
      {"role": "user", "content": "Tell me a joke.\nA short one."}], True),
    ([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}, {"role": "assistant", "content": "A"}], False),
    ([{"role": "user", "content": "日本語で答えて 😀"}], True),
    ([{"role": "user", "content": "weather?"}, {"role": "tool", "content": "{\"t\": 21}"},
      {"role": "tool", "content": "{\"rain\": 0}"}, {"role": "user", "content": "thanks"}], True),
]


def fnv1a_ids(ids):
    h = 0x811C9DC5
    for i in ids:
        for k in range(4):
            h ^= (i >> (8 * k)) & 0xFF
            h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer-json", required=True)
    ap.add_argument("--folder", required=True, help="tokenizer folder (tokenizer_config.json etc.)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=6)
    args = ap.parse_args()

    import tokenizers
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(args.tokenizer_json)
    versions = {"tokenizers": tokenizers.__version__, "python": sys.version.split()[0]}

    strings = handmade_strings() + random_strings(300, args.seed)
    encode = []
    for s in strings:
        ids = tok.encode(s, add_special_tokens=False).ids
        encode.append({"text": s, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})

    decode = []
    for e in encode:
        ids = e["ids"]
        if any(ord(c) > 0x7F for c in e["text"]) and len(ids) <= 16:
            for k in range(1, len(ids)):
                decode.append({"ids": ids[:k], "skip_special": False, "text": tok.decode(ids[:k], skip_special_tokens=False)})
                decode.append({"ids": ids[k:], "skip_special": False, "text": tok.decode(ids[k:], skip_special_tokens=False)})
        if any(i >= 151643 for i in ids):
            decode.append({"ids": ids, "skip_special": True, "text": tok.decode(ids, skip_special_tokens=True)})
    for i in list(range(0, 300)) + [151643, 151644, 151645, 151657, 151664]:
        decode.append({"ids": [i], "skip_special": False, "text": tok.decode([i], skip_special_tokens=False)})
    if len(decode) > 2500:
        decode = decode[:2500]

    chat = []
    try:
        import transformers
        from transformers import AutoTokenizer

        versions["transformers"] = transformers.__version__
        with tempfile.TemporaryDirectory() as d:
            for name in os.listdir(args.folder):
                shutil.copy(os.path.join(args.folder, name), d)
            shutil.copy(args.tokenizer_json, os.path.join(d, "tokenizer.json"))
            hf = AutoTokenizer.from_pretrained(d)
            for messages, gen in CHATS:
                text = hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
                chat.append({"messages": messages, "add_generation_prompt": gen, "text": text,
                             "ids": tok.encode(text, add_special_tokens=False).ids})
    except Exception as ex:  # keep the tokenizer fixtures even if transformers is missing
        print("chat template skipped:", repr(ex), file=sys.stderr)

    bulk_text = "\n\n".join(strings) * 4
    t0 = time.perf_counter()
    bulk_ids = tok.encode(bulk_text, add_special_tokens=False).ids
    t1 = time.perf_counter()
    bulk = {"join": "\n\n", "repeat": 4, "bytes": len(bulk_text.encode("utf-8")), "tokens": len(bulk_ids),
            "fnv1a": fnv1a_ids(bulk_ids), "hf_seconds": t1 - t0,
            "hf_tokens_per_s": len(bulk_ids) / max(t1 - t0, 1e-9)}

    out = {"versions": versions, "encode": encode, "decode": decode, "chat": chat, "bulk": bulk}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
    print(json.dumps(versions), len(encode), "encode,", len(decode), "decode,", len(chat), "chat,", json.dumps(bulk))


if __name__ == "__main__":
    main()
