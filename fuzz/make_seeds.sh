#!/usr/bin/env bash
# Small, real seed files for every fuzz target, made with real tools, into
# fuzz/corpus/<target>/ (not committed: run this again to get them back).
#
#   bash fuzz/make_seeds.sh
#
# Needs: python3 with python-docx, openpyxl, python-pptx; libreoffice; zip;
# 7z (p7zip-full); qpdf. Every person, number and address in them is invented.
set -euo pipefail

FUZZ="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$FUZZ")"
CORPUS="$FUZZ/corpus"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
for t in message zip ooxml odf pdf sevenz rtf tnef compound; do mkdir -p "$CORPUS/$t"; done
cd "$WORK"

# --- plain files the containers hold ------------------------------------------
cat > pupils.csv <<'EOF'
Name,DOB,UPN,Address
Ava Turner,12/03/2015,B801200005001,"4 Elm Road, Oakfield OK1 2AB"
Noah Patel,07/11/2014,,"19 Mill Lane, Oakfield OK3 9ZZ"
EOF
printf 'Safeguarding note: Noah Patel (DOB 07/11/2014) was upset at lunch.\r\n' > note.txt
printf '<html><body><p>Ava Turner &mdash; date of birth 12/03/2015</p></body></html>\n' > page.html

# --- Office documents: python-docx, openpyxl, python-pptx ----------------------
python3 - <<'EOF'
import docx, openpyxl, pptx
d = docx.Document()
d.add_heading("Year 6 residential", 1)
d.add_paragraph("Ava Turner, date of birth 12/03/2015, UPN B801200005001.")
t = d.add_table(rows=2, cols=2)
t.cell(0, 0).text, t.cell(0, 1).text = "Name", "NHS number"
t.cell(1, 0).text, t.cell(1, 1).text = "Noah Patel", "943 476 5919"
d.save("pupils.docx")
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Class 4"
ws.append(["Name", "DOB", "UPN"])
ws.append(["Ava Turner", "12/03/2015", "B801200005001"])
ws.append(["Noah Patel", "07/11/2014", 42])
wb.create_sheet("Notes")["A1"] = "Free school meals: Noah Patel"
wb.save("pupils.xlsx")
p = pptx.Presentation()
s = p.slides.add_slide(p.slide_layouts[1])
s.shapes.title.text = "Class 4"
s.placeholders[1].text = "Ava Turner 12/03/2015"
p.save("pupils.pptx")
EOF

# --- the same through LibreOffice: ODF, legacy Office (OLE), PDF, RTF ---------
lo() { # lo FORMAT FILE...
    libreoffice -env:UserInstallation="file://$WORK/lo-profile" --headless --convert-to "$@" \
        --outdir "$WORK" >/dev/null 2>&1
}
lo odt pupils.docx
lo ods pupils.xlsx
lo odp pupils.pptx
lo doc pupils.docx
lo xls pupils.xlsx
lo pdf pupils.xlsx && mv pupils.pdf pupils-sheet.pdf
lo pdf pupils.docx
lo rtf pupils.docx

# --- PDFs: LibreOffice's, uncompressed (qpdf --qdf), encrypted, hand-written ---
qpdf --qdf --object-streams=disable pupils.pdf pupils-qdf.pdf
qpdf --object-streams=generate pupils.pdf pupils-objstm.pdf
qpdf --encrypt '' owner 256 -- pupils.pdf pupils-aes.pdf
qpdf --allow-weak-crypto --encrypt user owner 128 --use-aes=n -- pupils.pdf pupils-rc4.pdf
python3 - <<'EOF'
# A minimal one-page PDF with a text stream and a correct xref table.
text = b"BT /F1 12 Tf 72 720 Td (Ava Turner DOB 12/03/2015) Tj ET"
objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
out, offsets = bytearray(b"%PDF-1.4\n"), []
for i, o in enumerate(objs, 1):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
open("tiny.pdf", "wb").write(out)
EOF

# --- zip archives: deflated, stored, nested, encrypted, with an Office file ---
zip -q -X deflated.zip pupils.csv note.txt page.html
zip -q -X -0 stored.zip pupils.csv
zip -q -X nested.zip deflated.zip note.txt
zip -q -X -P secret encrypted.zip pupils.csv
zip -q -X with-docx.zip pupils.docx note.txt
mkdir -p dir/sub && cp note.txt dir/sub/ && zip -q -X -r with-dirs.zip dir

# --- 7z archives: LZMA2, LZMA, stored, encrypted content, encrypted headers ---
7z a -bd -y lzma2.7z pupils.csv note.txt >/dev/null
7z a -bd -y -m0=LZMA lzma.7z pupils.csv >/dev/null
7z a -bd -y -m0=Copy copy.7z pupils.csv note.txt >/dev/null
7z a -bd -y -psecret aes.7z pupils.csv >/dev/null
7z a -bd -y -psecret -mhe=on aes-headers.7z pupils.csv >/dev/null
7z a -bd -y nested.7z deflated.zip >/dev/null

# --- RTF: LibreOffice's and hand-written ---------------------------------------
cat > small.rtf <<'EOF'
{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Arial;}}{\colortbl;\red255\green0\blue0;}
{\*\generator hand}\f0\fs24 Ava Turner\tab DOB 12/03/2015\par
{\b UPN} B801200005001 \u8211? caf\'e9\par
{\field{\*\fldinst HYPERLINK "mailto:p@example.com"}{\fldrslt p@example.com}}\par
\trowd\cellx2000\cellx4000 Name\cell Noah Patel\cell\row
{\pict\pngblip 89504e47}}
EOF

# --- TNEF (winmail.dat), hand-built: body text and two attached files ---------
python3 - <<'EOF'
import struct
def attr(level, ident, data):
    return struct.pack("<BII", level, ident, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)
def tnef(body, files):
    out = struct.pack("<IH", 0x223E9F78, 0x1234)
    out += attr(1, 0x00089006, struct.pack("<I", 0x00010000))      # attTnefVersion
    out += attr(1, 0x00069007, struct.pack("<II", 1252, 0))        # attOemCodepage
    out += attr(1, 0x00078008, b"IPM.Microsoft Mail.Note\0")       # attMessageClass
    out += attr(1, 0x00018004, b"Class list\0")                    # attSubject
    out += attr(1, 0x0002800C, body)                               # attBody
    for name, data in files:
        out += attr(2, 0x00069002, struct.pack("<HIIII", 1, 0xFFFFFFFF, 0, 0, 0))  # attAttachRendData
        out += attr(2, 0x00018010, name + b"\0")                   # attAttachTitle
        out += attr(2, 0x0006800F, data)                           # attAttachData
    return out
csv = open("pupils.csv", "rb").read()
open("winmail.dat", "wb").write(tnef(b"Please find the class list attached.\r\n",
                                     [(b"pupils.csv", csv), (b"note.txt", open("note.txt", "rb").read())]))
open("winmail-docx.dat", "wb").write(tnef(b"Report attached.\r\n", [(b"pupils.docx", open("pupils.docx", "rb").read())]))
open("winmail-empty.dat", "wb").write(tnef(b"", []))
EOF
python3 -c "import tnefparse,sys; t=tnefparse.TNEF(open('winmail.dat','rb').read()); assert [a.long_filename() or a.name for a in t.attachments], 'no attachments'" \
    || echo "note: tnefparse could not read the hand-built winmail.dat" >&2

# --- into the corpora ----------------------------------------------------------
cp deflated.zip stored.zip nested.zip encrypted.zip with-docx.zip with-dirs.zip "$CORPUS/zip/"
cp pupils.docx pupils.xlsx pupils.pptx "$CORPUS/ooxml/"
cp pupils.odt pupils.ods pupils.odp "$CORPUS/odf/"
cp pupils.pdf pupils-sheet.pdf pupils-qdf.pdf pupils-objstm.pdf pupils-aes.pdf pupils-rc4.pdf tiny.pdf "$CORPUS/pdf/"
cp lzma2.7z lzma.7z copy.7z aes.7z aes-headers.7z nested.7z "$CORPUS/sevenz/"
cp pupils.rtf small.rtf "$CORPUS/rtf/"
cp winmail.dat winmail-docx.dat winmail-empty.dat "$CORPUS/tnef/"
cp pupils.doc pupils.xls "$CORPUS/compound/"   # a .ppt from LibreOffice is 600 KB: over -max_len

# --- the project's own attachment fixtures, by what they are ------------------
seed() { # seed TARGET FILE...: copies, with spaces in names made underscores
    local t="$1"; shift
    for f in "$@"; do [ -f "$f" ] && cp "$f" "$CORPUS/$t/fixture-$(basename "$f" | tr ' ' _)"; done
    return 0
}
shopt -s nullglob nocaseglob
A="$REPO/fixtures/attachments"
seed zip "$A"/*.zip
seed ooxml "$A"/*.docx "$A"/*.xlsx "$A"/*.pptx
seed odf "$A"/*.odt "$A"/*.ods "$A"/*.odp
seed pdf "$A"/*.pdf "$REPO"/fixtures/pdf/*.pdf
seed sevenz "$A"/*.7z
seed rtf "$A"/*.rtf "$REPO"/fixtures/rtf/*.rtf
seed tnef "$A"/*.dat
for f in "$A"/*; do  # OLE files whatever their name: .doc, .xls, password-protected .xlsx
    if head -c 8 "$f" | cmp -s - <(printf '\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1'); then seed compound "$f"; fi
done
shopt -u nullglob nocaseglob

# --- messages: the golden corpus, plus one message carrying every format -------
cp "$REPO"/fixtures/messages/*.eml "$CORPUS/message/"
cp "$REPO"/fixtures/crypto/*.eml "$CORPUS/message/"
python3 - "$CORPUS/message" <<'EOF'
import sys
from email.message import EmailMessage
from email.policy import SMTP
files = [("pupils.docx", "application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
         ("pupils.xlsx", "application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
         ("pupils.odt", "application", "vnd.oasis.opendocument.text"),
         ("pupils.doc", "application", "msword"),
         ("tiny.pdf", "application", "pdf"),
         ("small.rtf", "application", "rtf"),
         ("deflated.zip", "application", "zip"),
         ("lzma2.7z", "application", "x-7z-compressed"),
         ("winmail.dat", "application", "ms-tnef"),
         ("pupils.csv", "text", "csv")]
for i, group in enumerate([files[:4], files[4:]]):
    m = EmailMessage()
    m["From"] = "teacher@oakfield.sch.uk"
    m["To"] = "parent@example.com"
    m["Subject"] = "Class lists (%d)" % i
    m.set_content("Please see the attached.\nUPN B801200005001\n")
    m.add_alternative("<p>Please see the <b>attached</b>.</p>", subtype="html")
    for name, major, minor in group:
        m.add_attachment(open(name, "rb").read(), maintype=major, subtype=minor, filename=name)
    open("%s/attachments-%d.eml" % (sys.argv[1], i), "wb").write(m.as_bytes(policy=SMTP))
EOF

echo "corpora now (seeds and whatever fuzzing has added):"
for t in message zip ooxml odf pdf sevenz rtf tnef compound; do
    printf '  %-9s %5d files, %9d bytes\n' "$t" "$(ls "$CORPUS/$t" | wc -l)" "$(cat "$CORPUS/$t"/* | wc -c)"
done
