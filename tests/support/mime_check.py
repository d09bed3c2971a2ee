#!/usr/bin/env python3
"""An independent MIME parser's view of a message, for the rewrite tests.

Reads one message file with Python's `email` package (policy `default`) and
prints JSON: every defect found, every attachment (file name, type, SHA-256
of the decoded payload), the main plain-text and HTML bodies as decoded text,
and the longest raw line in bytes.
"""
import email
import email.policy
import hashlib
import json
import sys


def inline_text_parts(part, texts, defects):
    """The message's own text parts, in order: not attachments, not inside a forwarded message."""
    if part.is_multipart():
        for child in part.iter_parts():
            inline_text_parts(child, texts, defects)
        return
    if part.get_content_type() not in ("text/plain", "text/html"):
        return
    if part.get_content_disposition() == "attachment" or part.get_filename():
        return
    try:
        texts[part.get_content_subtype()].append(part.get_content())
    except Exception as error:  # a charset Python cannot decode
        defects.append(f"{part.get_content_type()}: cannot decode: {error}")


def main(path):
    with open(path, "rb") as f:
        data = f.read()
    message = email.message_from_bytes(data, policy=email.policy.default)
    defects = []
    attachments = []
    for part in message.walk():
        defects.extend(f"{part.get_content_type()}: {type(d).__name__}" for d in part.defects)
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment" or (
            part.get_filename() and not part.get_content_type().startswith("text/")
        ):
            payload = part.get_payload(decode=True) or b""
            attachments.append(
                {
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "sha256": hashlib.sha256(payload).hexdigest(),
                }
            )
    texts = {"plain": [], "html": []}
    inline_text_parts(message, texts, defects)
    longest = max((len(line.rstrip(b"\r")) for line in data.split(b"\n")), default=0)
    print(json.dumps({"defects": defects, "attachments": attachments, "texts": texts, "longest_line": longest}))


if __name__ == "__main__":
    main(sys.argv[1])
