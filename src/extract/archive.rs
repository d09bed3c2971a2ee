//! Zip and 7z archives: every entry judged on its own (an archive may hold
//! encrypted and plain files side by side), plain entries read as files of
//! their own, to the nesting limit.
//!
//! Bombs are stopped by what is really decompressed, not by what headers
//! declare: each entry is read through `take(limit + 1)`, the bytes of all
//! archives in one attachment share one budget, and an entry over 1 MB that
//! inflates more than `max_ratio` times its stored size is not scanned.

use std::io::{Cursor, Read};

use zip::ZipArchive;

use crate::finding::Location;
use crate::protect::{self, AttachmentProtection};

use super::{Note, Walker};

/// Entries smaller than this are never called bombs, whatever their ratio.
const RATIO_FLOOR_BYTES: usize = 1024 * 1024;

/// A content type for a file known only by its name (archive entries, winmail.dat members).
pub fn content_type_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" | "md" => "text/plain",
        "csv" => "text/csv",
        "tsv" | "tab" => "text/tab-separated-values",
        "htm" | "html" => "text/html",
        "eml" => "message/rfc822",
        "png" | "jpg" | "jpeg" | "gif" | "bmp" | "tif" | "tiff" | "heic" | "webp" | "emf" | "wmf" => "image/*",
        "mp3" | "wav" | "m4a" => "audio/*",
        "mp4" | "mov" | "avi" => "video/*",
        _ => "application/octet-stream",
    }
}

impl Walker<'_> {
    /// A zip container: an Office or OpenDocument package, or an archive of files.
    pub(super) fn zip(&mut self, location: &Location, name: Option<&str>, ctype: &str, bytes: &[u8], depth: usize) {
        let mut archive = match ZipArchive::new(Cursor::new(bytes)) {
            Ok(archive) => archive,
            Err(error) => {
                self.attachment_seen(location, ctype, bytes.len(), false);
                self.note(
                    location,
                    Note::Unscannable(format!("the ZIP file is damaged ({error})")),
                );
                return;
            }
        };
        if archive.index_for_name("[Content_Types].xml").is_some() {
            return self.ooxml(location, name, ctype, bytes, &mut archive);
        }
        if super::odf::is_odf(&mut archive) {
            return self.odf(location, ctype, bytes.len(), &mut archive);
        }
        let protection = protect::attachment_protection(bytes);
        let all_encrypted = matches!(protection, AttachmentProtection::Protected(_));
        self.attachment_seen(location, ctype, bytes.len(), all_encrypted);
        if all_encrypted || !self.may_open(location, depth) {
            return;
        }
        let count = archive.len();
        if count > self.limits.max_entries {
            self.note(
                location,
                Note::Unscannable(format!(
                    "the archive has {count} entries; only the first {} were read",
                    self.limits.max_entries
                )),
            );
        }
        for index in 0..count.min(self.limits.max_entries) {
            let (entry_name, encrypted, stored) = match archive.by_index_raw(index) {
                Ok(entry) if entry.is_dir() => continue,
                Ok(entry) => (
                    entry
                        .name()
                        .map(|n| n.into_owned())
                        .unwrap_or_else(|_| format!("entry{}", index + 1)),
                    entry.encrypted(),
                    entry.compressed_size(),
                ),
                Err(error) => {
                    self.note(
                        location,
                        Note::Unscannable(format!("entry {} of the archive is damaged ({error})", index + 1)),
                    );
                    continue;
                }
            };
            let member = location.member(&entry_path(&entry_name));
            let entry_type = content_type_for(&entry_name);
            if encrypted {
                self.attachment_seen(&member, entry_type, 0, true);
                continue;
            }
            let data = match archive.by_index(index) {
                Ok(mut entry) => self.unpack(&mut entry, stored),
                Err(error) => Err(format!("it could not be unpacked ({error})")),
            };
            match data {
                Ok(data) => self.file(&member, Some(&entry_name), entry_type, &data, depth + 1),
                Err(reason) => {
                    self.attachment_seen(&member, entry_type, 0, false);
                    self.note(&member, Note::Unscannable(reason));
                    if self.unpack_room() == 0 {
                        return;
                    }
                }
            }
        }
    }

    /// A 7z archive: encrypted headers hide everything (protected); with
    /// plain headers each file's block says whether it is encrypted.
    pub(super) fn seven_zip(&mut self, location: &Location, ctype: &str, bytes: &[u8], depth: usize) {
        use sevenz_rust2::{ArchiveReader, Error, Password};
        let mut reader = match ArchiveReader::new_with_memory_limit(Cursor::new(bytes), Password::empty(), 64 * 1024) {
            Ok(reader) => reader,
            Err(Error::PasswordRequired | Error::MaybeBadPassword(_)) => {
                self.attachment_seen(location, ctype, bytes.len(), true);
                return;
            }
            Err(error) => {
                self.attachment_seen(location, ctype, bytes.len(), false);
                self.note(
                    location,
                    Note::Unscannable(format!("the 7z archive could not be read ({error})")),
                );
                return;
            }
        };
        reader.set_thread_count(1);
        let archive = reader.archive();
        let files: Vec<(String, bool, bool)> = archive
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                (
                    f.name.clone(),
                    f.is_directory || !f.has_stream,
                    archive.is_file_encrypted(i),
                )
            })
            .collect();
        let all_encrypted = files.iter().any(|f| f.2) && files.iter().filter(|f| !f.1).all(|f| f.2);
        self.attachment_seen(location, ctype, bytes.len(), all_encrypted);
        if all_encrypted || !self.may_open(location, depth) {
            return;
        }
        if files.len() > self.limits.max_entries {
            self.note(
                location,
                Note::Unscannable(format!(
                    "the archive has {} entries; only the first {} were read",
                    files.len(),
                    self.limits.max_entries
                )),
            );
        }
        for (name, skip, encrypted) in files.iter().take(self.limits.max_entries) {
            if *encrypted && !*skip {
                self.attachment_seen(&location.member(&entry_path(name)), content_type_for(name), 0, true);
            }
        }
        let mut seen = 0;
        let result = reader.for_each_entries(|entry, content| {
            seen += 1;
            if seen > self.limits.max_entries || self.unpack_room() == 0 {
                return Ok(false);
            }
            if entry.is_directory || !entry.has_stream {
                return Ok(true);
            }
            let member = location.member(&entry_path(&entry.name));
            // Solid blocks have no per-file stored size; the block's ratio is checked by the budget alone.
            let entry_type = content_type_for(&entry.name);
            match self.unpack(content, 0) {
                Ok(data) => self.file(&member, Some(&entry.name), entry_type, &data, depth + 1),
                Err(reason) => {
                    self.attachment_seen(&member, entry_type, 0, false);
                    self.note(&member, Note::Unscannable(reason));
                }
            }
            Ok(true)
        });
        if let Err(error) = result {
            let reason = match error {
                Error::PasswordRequired | Error::MaybeBadPassword(_) => return,
                other => format!("the 7z archive could not be fully unpacked ({other})"),
            };
            self.note(location, Note::Unscannable(reason));
        }
    }

    /// An entry's bytes, within the entry limit, the attachment's budget and
    /// the bomb ratio (`stored` is its compressed size; 0 when unknown); or why not.
    pub(super) fn unpack(&mut self, content: &mut dyn Read, stored: u64) -> Result<Vec<u8>, String> {
        let limit = self.limits.max_entry_bytes.min(self.unpack_room());
        let mut data = Vec::new();
        let read = content.take(limit as u64 + 1).read_to_end(&mut data);
        self.unpacked += data.len();
        if let Err(error) = read {
            return Err(format!("it could not be unpacked ({error})"));
        }
        if data.len() > limit {
            return Err(if limit < self.limits.max_entry_bytes {
                format!(
                    "archives in this attachment unpack to more than {} MB; the rest was not read",
                    self.limits.max_unpacked_bytes / (1024 * 1024)
                )
            } else {
                format!(
                    "it unpacks to more than {} MB and was not read",
                    self.limits.max_entry_bytes / (1024 * 1024)
                )
            });
        }
        let ratio = data.len() as u64 / stored.max(1);
        if stored > 0 && data.len() > RATIO_FLOOR_BYTES && ratio > self.limits.max_ratio as u64 {
            return Err(format!(
                "it inflates {ratio} times its stored size (a zip bomb) and was not read"
            ));
        }
        Ok(data)
    }
}

/// An entry's path as one location segment: forward slashes, no leading
/// slash or `..`, no control characters, bounded length.
fn entry_path(name: &str) -> String {
    let cleaned: Vec<String> = name
        .split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != "." && *s != "..")
        .map(super::clean_name)
        .collect();
    let path = cleaned.join("/");
    if path.is_empty() {
        return "(unnamed)".to_string();
    }
    path.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths_are_tamed() {
        assert_eq!(entry_path("../../etc/passwd"), "etc/passwd");
        assert_eq!(entry_path("EHCP\\drafts\\Jo.docx"), "EHCP/drafts/Jo.docx");
        assert_eq!(entry_path("/"), "(unnamed)");
    }

    #[test]
    fn types_follow_names() {
        assert_eq!(content_type_for("Pupils.CSV"), "text/csv");
        assert_eq!(content_type_for("photo.jpeg"), "image/*");
        assert_eq!(content_type_for("report"), "application/octet-stream");
    }
}
