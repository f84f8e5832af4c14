"""tern's QAPI code generator: QEMU's schema language in, C and Markdown out."""
