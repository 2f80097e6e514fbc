from riskdesk.cli import app

app(prog_name="riskdesk")
