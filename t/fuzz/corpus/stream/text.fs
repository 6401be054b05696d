photos/a.jpg
photos/b.jpg
