from django.shortcuts import render


def explorer(request):
    """The map explorer (home page). All data arrives through the API."""
    return render(request, "territorial/explorer.html")
