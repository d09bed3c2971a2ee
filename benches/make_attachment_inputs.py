#!/usr/bin/env python3
"""Inputs for benches/attachments.rs, made with real tools (openpyxl,
python-docx, LibreOffice) into target/bench-inputs/:

    pupils-10000.xlsx   10,000 pupil rows (name, DOB as Excel dates, UPN, address), ~1 MB
    report-100pages.pdf a 100-page text PDF (LibreOffice from a generated .docx)
    mixed-20mb.zip      ~20 MB zip of mixed documents (xlsx, docx, pdf, csv, png-like noise)

Run once before `cargo bench --bench attachments`:
    pip install openpyxl python-docx && apt-get install -y libreoffice-writer
    python3 benches/make_attachment_inputs.py
"""
import datetime
import hashlib
import os
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "target", "bench-inputs")
FIRST = ["Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Leo", "Freya", "Arthur"]
LAST = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Evans", "Thomas", "Khan"]
UPN_T = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn(i):
    body = f"8231{i:08d}"[-12:]
    s = sum((k + 2) * int(c) for k, c in enumerate(body))
    return UPN_T[s % 23] + body


def xlsx(path, rows):
    import openpyxl
    wb = openpyxl.Workbook(write_only=False)
    ws = wb.active
    ws.title = "Pupils"
    ws.append(["Surname", "Forename", "Date of birth", "UPN", "Year", "Address", "Postcode",
               "Parent/carer", "Mobile", "Email", "Emergency contact", "Medical notes"])
    streets = ["Church Lane", "Mill Road", "Station Road", "Oak Avenue", "Victoria Street", "Park View"]
    for i in range(rows):
        surname = LAST[i % 10] + ("-" + LAST[(i // 100) % 10] if i % 3 == 0 else "")
        ws.append([surname, FIRST[(i // 10) % 10], datetime.date(2012 + i % 7, 1 + i % 12, 1 + i % 28),
                   upn(i), 1 + i % 6, f"{1 + i % 200} {streets[i % 6]}, Flat {i}", f"OX{1 + i % 9} {i % 10}AB",
                   f"{FIRST[(i + 3) % 10]} {surname}", f"07700 9{i:05d}", f"parent{i}@example.com",
                   f"{FIRST[(i + 5) % 10]} {LAST[(i + 7) % 10]} (grandparent) 01865 {i:06d}",
                   "asthma, inhaler in class" if i % 17 == 0 else ""])
        ws.cell(row=i + 2, column=3).number_format = "dd/mm/yyyy"
    wb.save(path)


def pdf(path, pages):
    import docx
    document = docx.Document()
    for p in range(pages):
        document.add_heading(f"Pupil progress report, page {p + 1}", level=1)
        for k in range(12):
            i = p * 12 + k
            document.add_paragraph(
                f"{FIRST[i % 10]} {LAST[(i // 10) % 10]} (UPN {upn(i)}) has made good progress in reading and "
                f"writing this term. Attendance is 96%. Targets for next term: times tables, spelling, "
                f"and reading at home three times a week.")
        document.add_page_break()
    src = path.replace(".pdf", ".docx")
    document.save(src)
    subprocess.run(["libreoffice", "--headless", "--convert-to", "pdf", "--outdir", os.path.dirname(path), src],
                   check=True, stdout=subprocess.DEVNULL)


def mixed_zip(path, target_bytes):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(os.path.join(OUT, "pupils-10000.xlsx"), "data/pupils.xlsx")
        z.write(os.path.join(OUT, "report-100pages.pdf"), "reports/report.pdf")
        z.write(os.path.join(OUT, "report-100pages.docx"), "reports/report.docx")
        n = 0
        while os.path.getsize(path) < target_bytes if os.path.exists(path) else True:
            csv = "Name,Class,Dinner\n" + "".join(f"{FIRST[i % 10]} {LAST[i % 7]},{i % 6}B,packed\n"
                                                  for i in range(20000))
            z.writestr(f"lists/dinners-{n}.csv", csv)
            noise = b"".join(hashlib.sha256(f"{n}-{k}".encode()).digest() for k in range(60000))
            z.writestr(f"photos/trip-{n}.jpg", noise, compress_type=zipfile.ZIP_STORED)
            n += 1
            z.fp.flush()
            if n > 20:
                break


def main():
    os.makedirs(OUT, exist_ok=True)
    xlsx(os.path.join(OUT, "pupils-10000.xlsx"), 10_000)
    pdf(os.path.join(OUT, "report-100pages.pdf"), 100)
    mixed_zip(os.path.join(OUT, "mixed-20mb.zip"), 20 * 1024 * 1024)
    for name in sorted(os.listdir(OUT)):
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name)) / 1e6:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
