"""The demo dataset (Weixin county on the Chishui river, Yangzonghai lake): demo/data/*.yaml."""
