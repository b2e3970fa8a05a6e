from desktop_app.main_window import MainWindow


def test_placeholder_window_shows_title_and_commands(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert window.windowTitle() == "Featherlight"
    text = window.welcome.text()
    for command in ("featherlight doctor", "featherlight corpus render", "featherlight eval"):
        assert command in text
    assert window.statusBar().currentMessage() == "Ready"
