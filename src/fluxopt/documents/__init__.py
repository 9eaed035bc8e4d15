"""The documents negotiators read and sign: the report of a territory (HTML, PDF) and one
annex per convention (docx, PDF), made from a solve's result (:mod:`fluxopt.documents.dossier`)."""
