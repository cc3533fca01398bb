"""Natural-language questions over conversions, in Chinese and English."""
