"""OGC API – Features helpers: parameter parsing, links, HTML pages."""
