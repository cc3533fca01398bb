"""Run the service: `python main.py` or `uvicorn main:app`."""

from postback.app import create_app

app = create_app()

if __name__ == "__main__":
    from postback.cli import serve

    serve()
