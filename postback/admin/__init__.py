"""The admin pages at /admin: partners managed in a browser, in Chinese and English."""
