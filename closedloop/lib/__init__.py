"""Pure helpers with no Django import: text, identity documents, phones, dates, categories."""
