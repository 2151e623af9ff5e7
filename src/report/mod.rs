//! Reports: the findings document (the JSON contract) and, with later work,
//! one renderer per format, all with the signature
//! `fn write(&Document, &mut dyn Write) -> io::Result<()>`.

pub mod document;
